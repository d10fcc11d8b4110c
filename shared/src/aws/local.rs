//! The health state in a local file (the CLI's `ECS_HEALTH_STATE`), with the same
//! conditional-write contract as S3: the version is a hash of the file's bytes.

use crate::health::model::State;
use crate::ports::{Loaded, StateStore, StoreError};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

pub struct FileStore {
    pub path: PathBuf,
}

fn version(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{:016x}", h.finish())
}

impl StateStore for FileStore {
    async fn load(&self) -> Result<Loaded, StoreError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => Ok(super::s3::parse_state(
                &bytes,
                Some(version(&bytes)),
                &self.path.display().to_string(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Loaded::default()),
            Err(e) => Err(StoreError::Failed(format!(
                "cannot read {}: {e}",
                self.path.display()
            ))),
        }
    }

    async fn save(&self, state: &State, expected: Option<&str>) -> Result<String, StoreError> {
        let current = match tokio::fs::read(&self.path).await {
            Ok(b) => Some(version(&b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Failed(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )));
            }
        };
        if current.as_deref() != expected {
            return Err(StoreError::Conflict);
        }
        let body =
            serde_json::to_vec_pretty(state).map_err(|e| StoreError::Failed(e.to_string()))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Write beside, then rename: a reader never sees half a file.
        let tmp = self.path.with_extension("json.tmp");
        tokio::fs::write(&tmp, &body)
            .await
            .map_err(|e| StoreError::Failed(format!("cannot write {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &self.path).await.map_err(|e| {
            StoreError::Failed(format!("cannot write {}: {e}", self.path.display()))
        })?;
        Ok(version(&body))
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}
