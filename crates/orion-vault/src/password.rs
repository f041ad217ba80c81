//! Where the master password comes from. Trade-offs are in `docs/vault.md`:
//! the prompt is for people, a file descriptor for automation, and an
//! environment variable only where nothing better exists (other processes of
//! the same user can read it from `/proc/PID/environ`).

use std::fs::File;
use std::io::Read;

use zeroize::Zeroize;

use crate::{Result, SecretString, VaultError};

/// New passwords (init, rotate, dashboard) must have at least this many
/// characters. Existing passwords are accepted as they are.
pub const MIN_NEW_PASSWORD_CHARS: usize = 12;

/// Passwords read from a descriptor longer than this are refused.
const MAX_PASSWORD_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// Ask on the terminal without echo.
    Prompt,
    /// Read the named environment variable, exactly as set.
    Env(String),
    /// Read file descriptor N (through `/dev/fd/N`) to its end; one trailing
    /// line ending is removed, so `echo` and text files work as expected.
    Fd(u32),
}

impl PasswordSource {
    /// Reads an existing password (to open a vault).
    pub fn read(&self, prompt: &str) -> Result<SecretString> {
        let pw = match self {
            Self::Prompt => prompt_once(prompt)?,
            Self::Env(var) => read_env(var)?,
            Self::Fd(fd) => read_fd(*fd)?,
        };
        if pw.is_empty() {
            return Err(VaultError::EmptyPassword {
                min: MIN_NEW_PASSWORD_CHARS,
            });
        }
        Ok(pw)
    }

    /// Reads a new password: asked twice when interactive, and held to
    /// [`MIN_NEW_PASSWORD_CHARS`].
    pub fn read_new(&self, prompt: &str) -> Result<SecretString> {
        let pw = self.read(prompt)?;
        check_new_password(&pw)?;
        if *self == Self::Prompt {
            let again = prompt_once("Type it again: ")?;
            if again != pw {
                return Err(VaultError::PasswordMismatch);
            }
        }
        Ok(pw)
    }

    /// Describes the source for messages, without revealing anything secret.
    pub fn describe(&self) -> String {
        match self {
            Self::Prompt => "the terminal prompt".to_owned(),
            Self::Env(var) => format!("environment variable {var}"),
            Self::Fd(fd) => format!("file descriptor {fd}"),
        }
    }
}

pub fn check_new_password(pw: &SecretString) -> Result<()> {
    let len = pw.char_count();
    if len < MIN_NEW_PASSWORD_CHARS {
        return Err(VaultError::PasswordTooShort {
            len,
            min: MIN_NEW_PASSWORD_CHARS,
        });
    }
    Ok(())
}

fn prompt_once(prompt: &str) -> Result<SecretString> {
    rpassword::prompt_password(prompt)
        .map(SecretString::new)
        .map_err(|source| VaultError::Prompt { source })
}

fn read_env(var: &str) -> Result<SecretString> {
    std::env::var(var)
        .map(SecretString::new)
        .map_err(|_| VaultError::PasswordEnvMissing {
            var: var.to_owned(),
        })
}

fn read_fd(fd: u32) -> Result<SecretString> {
    let path = format!("/dev/fd/{fd}");
    let file = File::open(&path).map_err(|source| VaultError::PasswordFd { fd, source })?;
    // Sized up front so reading never reallocates and strands a copy.
    let mut buf = Vec::with_capacity(MAX_PASSWORD_BYTES + 1);
    let read = file
        .take(u64::try_from(MAX_PASSWORD_BYTES + 1).unwrap_or(u64::MAX))
        .read_to_end(&mut buf);
    if let Err(source) = read {
        buf.zeroize();
        return Err(VaultError::PasswordFd { fd, source });
    }
    if buf.len() > MAX_PASSWORD_BYTES {
        buf.zeroize();
        return Err(VaultError::PasswordFd {
            fd,
            source: std::io::Error::other(format!("more than {MAX_PASSWORD_BYTES} bytes")),
        });
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    match String::from_utf8(buf) {
        Ok(s) => Ok(SecretString::new(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(VaultError::PasswordNotUtf8 {
                origin: format!("file descriptor {fd}"),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn fd_source_strips_one_line_ending() {
        // Opening the file keeps an fd we can name through /proc/self/fd.
        let dir = tempfile::tempdir().unwrap();
        for (content, expected) in [
            (&b"correct horse\n"[..], "correct horse"),
            (b"correct horse\r\n", "correct horse"),
            (b"correct horse\n\n", "correct horse\n"),
            (b"  spaced  ", "  spaced  "),
        ] {
            let path = dir.path().join("pw");
            std::fs::File::create(&path)
                .unwrap()
                .write_all(content)
                .unwrap();
            let f = std::fs::File::open(&path).unwrap();
            let fd = fd_of(&f);
            let got = PasswordSource::Fd(fd).read("unused").unwrap();
            assert_eq!(got.expose(), expected);
        }
    }

    #[test]
    fn fd_source_errors() {
        let err = PasswordSource::Fd(999_999).read("unused").unwrap_err();
        assert!(
            matches!(err, VaultError::PasswordFd { fd: 999_999, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("--password-fd"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let err = PasswordSource::Fd(fd_of(&f)).read("unused").unwrap_err();
        assert!(matches!(err, VaultError::PasswordNotUtf8 { .. }), "{err}");

        std::fs::write(&path, "\n").unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let err = PasswordSource::Fd(fd_of(&f)).read("unused").unwrap_err();
        assert!(matches!(err, VaultError::EmptyPassword { .. }), "{err}");

        std::fs::write(&path, vec![b'a'; MAX_PASSWORD_BYTES + 1]).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        assert!(PasswordSource::Fd(fd_of(&f)).read("unused").is_err());
    }

    #[test]
    fn env_source_missing_variable_names_it() {
        let err = PasswordSource::Env("ORION_TEST_SURELY_UNSET_VAR".into())
            .read("unused")
            .unwrap_err();
        assert!(err.to_string().contains("ORION_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn new_password_length_rule() {
        assert!(check_new_password(&SecretString::new("short".into())).is_err());
        assert!(check_new_password(&SecretString::new("twelve chars".into())).is_ok());
        // characters, not bytes
        assert!(check_new_password(&SecretString::new("ééééé".into())).is_err());
    }

    fn fd_of(f: &std::fs::File) -> u32 {
        use std::os::fd::AsRawFd;
        u32::try_from(f.as_raw_fd()).unwrap()
    }
}
