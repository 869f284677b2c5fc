//! Test and benchmark support for trustmap, never shipped in the binary.
//!
//! [`corpus::build`] writes a realistic tree (config files, source in several languages,
//! notebooks, minified JS, CRLF files, PEM blocks, JSON with escapes, Kubernetes and docker
//! files with base64, CSV) with planted secrets and hard negatives, and returns the ground
//! truth so tests and the benchmark can measure recall and precision.
//! [`git`] makes real repositories with the git CLI.
//!
//! It must not know how the scanner works inside: it only writes inputs and scores outputs.

pub mod browser;
pub mod child;
pub mod corpus;
pub mod discovery;
pub mod entra;
pub mod estate;
pub mod findings;
pub mod gcp;
pub mod gcplocal;
pub mod git;
pub mod github;
pub mod http;
pub mod k8s;
pub mod kmock;
pub mod measure;
pub mod moto;
pub mod openapi;
pub mod postgres;
pub mod prism;
pub mod run;
pub mod score;
pub mod tokens;
