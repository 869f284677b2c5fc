//! `trustmap rules check|list`.
use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use trustmap_rules::{check_examples, load_rule_dir, Engine};

use crate::exit;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Every rule compiles and finds its examples and none of its negative examples.
    Check {
        /// A directory of rule files (default: the built-in rules).
        dir: Option<PathBuf>,
    },
    /// List the rules: id, severity, name.
    List { dir: Option<PathBuf> },
}

pub fn load_engine(dir: Option<&PathBuf>) -> Result<Engine> {
    match dir {
        Some(d) => {
            let rules = load_rule_dir(d)?;
            Engine::new(rules).with_context(|| format!("rules in {}", d.display()))
        }
        None => Ok(Engine::builtin()?),
    }
}

pub fn run(cmd: RulesCommand) -> Result<u8> {
    match cmd {
        RulesCommand::Check { dir } => {
            let engine = load_engine(dir.as_ref())?;
            let failures = check_examples(&engine);
            let examples: usize = engine
                .rules()
                .iter()
                .map(|r| r.source.def.examples.len() + r.source.def.negative_examples.len())
                .sum();
            for f in &failures {
                eprintln!("{f}");
            }
            if failures.is_empty() {
                eprintln!(
                    "{} rules ok, {examples} examples checked",
                    engine.rules().len()
                );
                Ok(exit::OK)
            } else {
                eprintln!("{} of {examples} examples failed", failures.len());
                Ok(exit::USAGE)
            }
        }
        RulesCommand::List { dir } => {
            let engine = load_engine(dir.as_ref())?;
            for r in engine.rules() {
                out!("{:<40} {:<9} {}", r.id, r.severity, r.name);
            }
            Ok(exit::OK)
        }
    }
}
