//! The health state in a local file (the CLI's `ECS_HEALTH_STATE`), with the same
//! conditional-write contract as S3: the version is a hash of the file's bytes.

use crate::health::model::State;
use crate::ports::{Loaded, SilenceWriter, Silences, StateStore, StatusPages, StoreError};
use crate::silence::SilenceFile;
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

impl FileStore {
    /// A file named after the state's: `ecs-health.json` → `ecs-health<suffix>`.
    fn beside(&self, suffix: &str) -> PathBuf {
        let stem = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "ecs-health".into());
        self.path.with_file_name(format!("{stem}{suffix}"))
    }

    /// The silences beside the state: `ecs-health.json` → `ecs-health.silences.json`.
    pub fn silences_path(&self) -> PathBuf {
        self.beside(".silences.json")
    }

    /// The status page's folder beside the state: `ecs-health.json` → `ecs-health.status/`.
    pub fn status_dir(&self) -> PathBuf {
        self.beside(".status")
    }
}

/// The bytes of `path` and their version; `None` when there is no such file.
async fn read_versioned(path: &std::path::Path) -> Result<Option<(Vec<u8>, String)>, StoreError> {
    match tokio::fs::read(path).await {
        Ok(bytes) => {
            let v = version(&bytes);
            Ok(Some((bytes, v)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::Failed(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Writes `body` to `path` if its version is still `expected`: beside, then renamed, so a
/// reader never sees half a file.
async fn write_versioned(
    path: &std::path::Path,
    body: &[u8],
    expected: Option<&str>,
) -> Result<String, StoreError> {
    let current = read_versioned(path).await?.map(|(_, v)| v);
    if current.as_deref() != expected {
        return Err(StoreError::Conflict);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StoreError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    let tmp = path.with_extension("json.tmp");
    tokio::fs::write(&tmp, body)
        .await
        .map_err(|e| StoreError::Failed(format!("cannot write {}: {e}", tmp.display())))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| StoreError::Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(version(body))
}

impl Silences for FileStore {
    async fn load_silences(&self) -> Result<(SilenceFile, Option<String>), StoreError> {
        let path = self.silences_path();
        match read_versioned(&path).await? {
            None => Ok((SilenceFile::default(), None)),
            Some((bytes, v)) => SilenceFile::parse(&bytes)
                .map(|f| (f, Some(v)))
                .map_err(|e| StoreError::Failed(format!("{}: {e}", path.display()))),
        }
    }
}

impl SilenceWriter for FileStore {
    async fn save_silences(
        &self,
        file: &SilenceFile,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        let body =
            serde_json::to_vec_pretty(file).map_err(|e| StoreError::Failed(e.to_string()))?;
        write_versioned(&self.silences_path(), &body, expected).await
    }

    fn silences_location(&self) -> String {
        self.silences_path().display().to_string()
    }
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
        let body =
            serde_json::to_vec_pretty(state).map_err(|e| StoreError::Failed(e.to_string()))?;
        write_versioned(&self.path, &body, expected).await
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// The CLI's status page, beside its state; it has no reports to list.
impl StatusPages for FileStore {
    async fn load_rollup(&self) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        read_versioned(&self.status_dir().join("rollup.json")).await
    }

    async fn save_rollup(
        &self,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<String, StoreError> {
        write_versioned(&self.status_dir().join("rollup.json"), &body, expected).await
    }

    async fn load_report_index(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    async fn save_page(&self, html: String) -> Result<String, StoreError> {
        let path = self.status_dir().join("index.html");
        let tmp = path.with_extension("html.tmp");
        let failed =
            |e: std::io::Error| StoreError::Failed(format!("cannot write {}: {e}", path.display()));
        tokio::fs::create_dir_all(self.status_dir())
            .await
            .map_err(failed)?;
        tokio::fs::write(&tmp, html).await.map_err(failed)?;
        tokio::fs::rename(&tmp, &path).await.map_err(failed)?;
        Ok(path.display().to_string())
    }

    fn report_links(&self) -> Option<String> {
        None
    }
}
