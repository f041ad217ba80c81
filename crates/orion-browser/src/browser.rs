//! Finding, starting and stopping Chromium.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::cdp::{Connection, lock};
use crate::error::{BrowserError, Result};
use crate::events::SessionState;
use crate::page::Page;

/// Environment variable naming the Chromium executable to use.
pub const CHROMIUM_ENV: &str = "ORION_CHROMIUM";
/// Environment variable that, set to `1`, turns "Chromium absent" from a skip into
/// an error (CI sets it so browser tests cannot silently skip there).
pub const REQUIRE_ENV: &str = "ORION_REQUIRE_CHROMIUM";

/// Where Chromium is looked for when `ORION_CHROMIUM` is not set: Debian's path
/// first, then these names on `PATH`.
const DEFAULT_PATH: &str = "/usr/bin/chromium";
const PATH_NAMES: [&str; 2] = ["chromium", "chromium-browser"];

/// The flags every launch uses. Headless without a sandbox (tests run as root in a
/// container) and without a GPU; the networking flags stop Chromium's own
/// background traffic (updates, sync, safe browsing, QUIC probes), which on a
/// machine without outside network only produces refused connections and noise.
const FLAGS: [&str; 14] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    // Containers often give /dev/shm only 64 MB; Chromium then crashes tabs.
    "--disable-dev-shm-usage",
    // Tests talk to 127.0.0.1 only; a proxy from the environment must not interfere.
    "--no-proxy-server",
    "--mute-audio",
    "--window-size=1280,800",
    "--remote-debugging-port=0",
];

/// How many stderr lines are kept to explain a failed start.
const STDERR_TAIL: usize = 20;

/// How to start Chromium. `Default` finds it as [`Browser::launch`] does.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The executable; `None` means: `ORION_CHROMIUM`, else the default places.
    pub executable: Option<PathBuf>,
    /// How long Chromium may take to print its DevTools address. Generous because
    /// CI machines are shared and a cold start can take several seconds.
    pub startup_timeout: Duration,
    /// The longest any single DevTools command may take.
    pub command_timeout: Duration,
    /// Extra command-line flags.
    pub extra_args: Vec<String>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self {
            executable: None,
            startup_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(30),
            extra_args: Vec::new(),
        }
    }
}

/// A running headless Chromium. Dropping it kills the process and deletes its
/// temporary profile; [`Browser::close`] asks it to exit first.
///
/// Its connection runs on the tokio runtime that launched it, so launch one per
/// test (each `#[tokio::test]` has its own runtime) rather than sharing one in a
/// static; a launch takes about half a second.
pub struct Browser {
    // Field order matters for Drop: the connection goes before the process is
    // killed, and the profile directory is deleted last.
    connection: Arc<Connection>,
    child: Child,
    executable: PathBuf,
    command_timeout: Duration,
    profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("executable", &self.executable)
            .field("pid", &self.child.id())
            .field("profile", &self.profile.path())
            .finish_non_exhaustive()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Already exited (after close) or not: either way the process must be gone
        // before its profile directory is removed. Errors mean it already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium's helper processes notice their parent is gone a moment later
        // and may still write to the profile meanwhile, so a single removal (what
        // TempDir's own drop does) can leave files behind. Retry for up to a second.
        for _ in 0..20 {
            match std::fs::remove_dir_all(self.profile.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => break,
            }
        }
    }
}

impl Browser {
    /// Finds and starts Chromium with the default options.
    ///
    /// Returns `Ok(None)` when no Chromium is installed, so a test can print a skip
    /// notice, unless `ORION_REQUIRE_CHROMIUM=1`, in which case that is an error.
    ///
    /// # Errors
    /// Chromium is required but absent, `ORION_CHROMIUM` names a missing file, or
    /// Chromium could not be started or connected to.
    pub async fn launch() -> Result<Option<Self>> {
        Self::launch_with(LaunchOptions::default()).await
    }

    /// [`Browser::launch`] with explicit options.
    ///
    /// # Errors
    /// As [`Browser::launch`].
    pub async fn launch_with(options: LaunchOptions) -> Result<Option<Self>> {
        let executable = match options.executable.clone() {
            Some(path) => path,
            None => match find_chromium()? {
                Some(path) => path,
                None => return absent(required()),
            },
        };
        Self::start(executable, &options).await.map(Some)
    }

    async fn start(executable: PathBuf, options: &LaunchOptions) -> Result<Self> {
        let profile = tempfile::Builder::new()
            .prefix("orion-chromium-")
            .tempdir()
            .map_err(|source| BrowserError::Io {
                doing: "create a temporary Chromium profile directory".to_owned(),
                source,
            })?;
        let mut user_data_dir = OsString::from("--user-data-dir=");
        user_data_dir.push(profile.path());
        // Chromium puts its singleton socket directory under TMPDIR and never
        // removes it when killed; inside the profile it goes away with the profile.
        let tmp = profile.path().join("tmp");
        std::fs::create_dir(&tmp).map_err(|source| BrowserError::Io {
            doing: format!("create {}", tmp.display()),
            source,
        })?;
        let mut child = Command::new(&executable)
            .args(FLAGS)
            .arg(user_data_dir)
            .args(&options.extra_args)
            .arg("about:blank")
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| BrowserError::Io {
                doing: format!("start {}", executable.display()),
                source,
            })?;

        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (address_tx, address_rx) = oneshot::channel();
        if let Some(stderr) = child.stderr.take() {
            let tail = Arc::clone(&tail);
            // A plain thread, not a task: the pipe is blocking, and it must be read
            // to its end or Chromium blocks once the pipe buffer fills.
            std::thread::spawn(move || read_stderr(stderr, &tail, address_tx));
        }
        let tail_text = |tail: &Mutex<VecDeque<String>>| {
            lock(tail).iter().cloned().collect::<Vec<_>>().join("\n")
        };

        let address = match tokio::time::timeout(options.startup_timeout, address_rx).await {
            Ok(Ok(address)) => address,
            Ok(Err(_)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(BrowserError::ExitedEarly {
                    path: executable,
                    stderr: tail_text(&tail),
                });
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(BrowserError::Timeout {
                    what: format!(
                        "{} to print its DevTools address; last stderr lines:\n{}",
                        executable.display(),
                        tail_text(&tail)
                    ),
                    after: options.startup_timeout,
                });
            }
        };

        let connection = match Connection::connect(&address, options.command_timeout).await {
            Ok(connection) => connection,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(Self {
            connection: Arc::new(connection),
            child,
            executable,
            command_timeout: options.command_timeout,
            profile,
        })
    }

    /// The executable that is running.
    #[must_use]
    pub fn executable(&self) -> &Path {
        &self.executable
    }

    /// Chromium's product version (`Browser.getVersion`), e.g.
    /// `"Chrome/156.0.8078.79"`.
    ///
    /// # Errors
    /// The connection failed or timed out.
    pub async fn version(&self) -> Result<String> {
        let reply = self
            .connection
            .call(None, "Browser.getVersion", json!({}), self.command_timeout)
            .await?;
        string_field(&reply, "product", "Browser.getVersion")
    }

    /// Opens a new tab in its own browser context (its own cookies and storage,
    /// like a private window), so pages in one test do not share a login.
    ///
    /// # Errors
    /// Chromium refused to create or attach to the tab, or timed out.
    pub async fn new_page(&self) -> Result<Page> {
        let timeout = self.command_timeout;
        let conn = &self.connection;
        let context = conn
            .call(
                None,
                "Target.createBrowserContext",
                json!({ "disposeOnDetach": true }),
                timeout,
            )
            .await?;
        let context_id = string_field(&context, "browserContextId", "Target.createBrowserContext")?;
        let target = conn
            .call(
                None,
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": context_id }),
                timeout,
            )
            .await?;
        let target_id = string_field(&target, "targetId", "Target.createTarget")?;
        let attached = conn
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
                timeout,
            )
            .await?;
        let session_id = string_field(&attached, "sessionId", "Target.attachToTarget")?;
        let state = Arc::new(SessionState::new(target_id.clone()));
        conn.register(&session_id, Arc::clone(&state));
        let page = Page::new(
            Arc::clone(conn),
            session_id,
            target_id,
            context_id,
            state,
            timeout,
        );
        page.enable_domains().await?;
        Ok(page)
    }

    /// Asks Chromium to exit and waits (up to five seconds) for it to do so, so its
    /// helper processes shut down cleanly before the profile directory is removed.
    /// Dropping the browser without `close` kills it instead.
    ///
    /// # Errors
    /// None in practice: a browser that does not answer is killed on drop.
    pub async fn close(mut self) -> Result<()> {
        let _ = self
            .connection
            .call(None, "Browser.close", json!({}), Duration::from_secs(5))
            .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::time::Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        Ok(())
    }
}

/// Reads Chromium's stderr to its end: sends the DevTools address once it appears
/// and keeps the last lines for error messages.
fn read_stderr(
    stderr: std::process::ChildStderr,
    tail: &Mutex<VecDeque<String>>,
    address_tx: oneshot::Sender<String>,
) {
    const PREFIX: &str = "DevTools listening on ";
    let mut address_tx = Some(address_tx);
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(address) = line.trim().strip_prefix(PREFIX)
            && let Some(tx) = address_tx.take()
        {
            // The launcher may have timed out and gone; nothing to do then.
            let _ = tx.send(address.trim().to_owned());
        }
        let mut tail = lock(tail);
        if tail.len() >= STDERR_TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    // Dropping an unsent address_tx tells the launcher Chromium stopped early.
}

/// What "no Chromium here" means: a skip, or (when required, as in CI) an error.
fn absent<T>(required: bool) -> Result<Option<T>> {
    if required {
        Err(BrowserError::Required {
            searched: searched_places(),
        })
    } else {
        Ok(None)
    }
}

fn required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

fn searched_places() -> String {
    format!(
        "${CHROMIUM_ENV}, {DEFAULT_PATH}, and {} on PATH",
        PATH_NAMES.join(", ")
    )
}

/// `ORION_CHROMIUM` if set (it must exist), else Debian's path, else `PATH`.
fn find_chromium() -> Result<Option<PathBuf>> {
    locate(
        std::env::var_os(CHROMIUM_ENV),
        Path::new(DEFAULT_PATH),
        std::env::var_os("PATH"),
    )
}

/// The search itself, with its inputs passed in so it can be tested without
/// touching the process environment.
fn locate(
    configured: Option<OsString>,
    default: &Path,
    path_var: Option<OsString>,
) -> Result<Option<PathBuf>> {
    if let Some(configured) = configured.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(configured);
        return if path.is_file() {
            Ok(Some(path))
        } else {
            Err(BrowserError::ConfiguredMissing { path })
        };
    }
    if default.is_file() {
        return Ok(Some(default.to_path_buf()));
    }
    let Some(path_var) = path_var else {
        return Ok(None);
    };
    for dir in std::env::split_paths(&path_var) {
        for name in PATH_NAMES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(Some(candidate));
            }
        }
    }
    Ok(None)
}

pub(crate) fn string_field(reply: &Value, key: &str, method: &str) -> Result<String> {
    reply
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| BrowserError::Decode {
            method: method.to_owned(),
            detail: format!("no string `{key}` in {reply}"),
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn absence_is_a_skip_unless_required() {
        assert!(matches!(absent::<()>(false), Ok(None)));
        let err = absent::<()>(true).unwrap_err();
        assert!(matches!(err, BrowserError::Required { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("ORION_REQUIRE_CHROMIUM=1"), "{message}");
        assert!(message.contains("apt-get install -y chromium"), "{message}");
        assert!(message.contains("/usr/bin/chromium"), "{message}");
    }

    #[test]
    fn the_configured_path_wins_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let configured = dir.path().join("my-chrome");
        let err = locate(
            Some(configured.clone().into()),
            Path::new("/nonexistent"),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&err, BrowserError::ConfiguredMissing { path } if *path == configured),
            "{err:?}"
        );

        std::fs::write(&configured, b"").unwrap();
        let default = dir.path().join("default-chromium");
        std::fs::write(&default, b"").unwrap();
        let found = locate(Some(configured.clone().into()), &default, None).unwrap();
        assert_eq!(found, Some(configured));
    }

    #[test]
    fn falls_back_to_the_default_path_then_to_path_names() {
        let dir = tempfile::tempdir().unwrap();
        let default = dir.path().join("default-chromium");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let path_var = std::env::join_paths([dir.path().join("empty"), bin.clone()]).unwrap();

        // Nothing anywhere: absent, which launch turns into a skip or an error.
        assert_eq!(
            locate(None, &default, Some(path_var.clone())).unwrap(),
            None
        );
        // An empty ORION_CHROMIUM counts as unset.
        assert_eq!(
            locate(Some(OsString::new()), &default, Some(path_var.clone())).unwrap(),
            None
        );

        std::fs::write(bin.join("chromium-browser"), b"").unwrap();
        assert_eq!(
            locate(None, &default, Some(path_var.clone())).unwrap(),
            Some(bin.join("chromium-browser"))
        );
        std::fs::write(&default, b"").unwrap();
        assert_eq!(
            locate(None, &default, Some(path_var)).unwrap(),
            Some(default)
        );
    }
}
