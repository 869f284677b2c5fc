use std::path::{Path, PathBuf};

/// An error in a configuration file (sweep.toml, partners.toml): what and where.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

impl ConfigFileError {
    /// Read a configuration file to a string.
    pub fn read(file: &Path) -> Result<String, ConfigFileError> {
        std::fs::read_to_string(file).map_err(|source| ConfigFileError::Read {
            file: file.to_path_buf(),
            source,
        })
    }
}
