//! Credentials for an IMAP login: a password (LOGIN), or an OAuth2 access
//! token for XOAUTH2 — the only way into Microsoft 365 and Gmail mailboxes
//! today. Tokens expire within the hour, so they are fetched anew on every
//! connect: from a command (a token helper that refreshes as needed) or
//! from a file (kept fresh by some other service).

use std::time::Duration;

use super::settings::Auth;

/// How long a token command may take before the connect attempt fails.
const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// What to log in with.
#[derive(Clone)]
pub enum Credential {
    Password(String),
    Token(String),
}

impl std::fmt::Debug for Credential {
    /// Never prints the secret itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Password(…)"),
            Credential::Token(_) => f.write_str("Token(…)"),
        }
    }
}

/// Reads the password or produces a token. The error says what to fix.
pub async fn credential(auth: &Auth) -> Result<Credential, String> {
    match auth {
        Auth::Password { env, file } => {
            match crate::transport::secret(env.as_deref(), file.as_deref())? {
                Some(p) => Ok(Credential::Password(p)),
                None => Err("no password_env or password_file is set".into()),
            }
        }
        Auth::TokenFile(path) => {
            let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                format!(
                    "cannot read the OAuth2 token file {} (oauth2_token_file): {e}",
                    path.display()
                )
            })?;
            nonempty_token(text.trim(), &format!("the file {}", path.display()))
        }
        Auth::TokenCommand(cmd) => run_token_command(cmd, TOKEN_COMMAND_TIMEOUT).await,
    }
}

fn nonempty_token(token: &str, from: &str) -> Result<Credential, String> {
    if token.is_empty() {
        return Err(format!("{from} gave an empty OAuth2 access token"));
    }
    if token.contains(['\x01', '\r', '\n']) {
        return Err(format!(
            "{from} gave more than one line; it must print only the access token"
        ));
    }
    Ok(Credential::Token(token.to_string()))
}

/// Runs `oauth2_token_command` with `sh -c`; its stdout, trimmed, is the
/// access token. A failure carries the command's stderr.
pub async fn run_token_command(cmd: &str, timeout: Duration) -> Result<Credential, String> {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run oauth2_token_command `{cmd}`: {e}"))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("oauth2_token_command `{cmd}` failed: {e}")),
        Err(_) => {
            return Err(format!(
                "oauth2_token_command `{cmd}` did not finish within {}s",
                timeout.as_secs()
            ))
        }
    };
    if !out.status.success() {
        return Err(format!(
            "oauth2_token_command `{cmd}` exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let token = String::from_utf8_lossy(&out.stdout);
    nonempty_token(token.trim(), &format!("oauth2_token_command `{cmd}`"))
}

/// The XOAUTH2 initial client response (before base64), as Google and
/// Microsoft document it: `user=U ^A auth=Bearer T ^A ^A`.
pub fn xoauth2_response(user: &str, token: &str) -> Vec<u8> {
    format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes()
}

/// Answers the server's XOAUTH2 challenges: the initial response first;
/// on failure the server sends a JSON error as a further challenge, which
/// is kept for the error message and answered with an empty line, as the
/// mechanism requires.
pub struct XOAuth2 {
    initial: Vec<u8>,
    sent: bool,
    /// The server's error details, if it sent any.
    pub server_error: Option<String>,
}

impl XOAuth2 {
    pub fn new(user: &str, token: &str) -> XOAuth2 {
        XOAuth2 {
            initial: xoauth2_response(user, token),
            sent: false,
            server_error: None,
        }
    }
}

impl async_imap::Authenticator for &mut XOAuth2 {
    type Response = Vec<u8>;

    fn process(&mut self, challenge: &[u8]) -> Vec<u8> {
        if !self.sent {
            self.sent = true;
            return self.initial.clone();
        }
        if !challenge.is_empty() {
            self.server_error = Some(String::from_utf8_lossy(challenge).into_owned());
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::Authenticator;

    #[test]
    fn initial_response_is_the_documented_format() {
        // The example from Google's XOAUTH2 documentation.
        let raw = xoauth2_response(
            "someuser@example.com",
            "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
        );
        assert_eq!(
            raw,
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
        );
    }

    #[test]
    fn error_challenge_is_kept_and_answered_empty() {
        let mut x = XOAuth2::new("u@example.com", "tok");
        let mut a = &mut x;
        assert_eq!(a.process(b""), xoauth2_response("u@example.com", "tok"));
        assert_eq!(a.process(br#"{"status":"401"}"#), Vec::<u8>::new());
        assert_eq!(x.server_error.as_deref(), Some(r#"{"status":"401"}"#));
    }

    #[tokio::test]
    async fn token_command_stdout_is_the_token() {
        let c = run_token_command("printf 'tok-123\\n'", Duration::from_secs(10))
            .await
            .unwrap();
        assert!(matches!(c, Credential::Token(t) if t == "tok-123"));
        assert_eq!(
            format!("{:?}", Credential::Token("secret".into())),
            "Token(…)"
        );
    }

    #[tokio::test]
    async fn token_command_failures_say_why() {
        let e = run_token_command("echo expired >&2; exit 3", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(e.contains("exited with") && e.contains("expired"), "{e}");
        let e = run_token_command("true", Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(e.contains("empty OAuth2 access token"), "{e}");
        let e = run_token_command("sleep 5", Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(e.contains("did not finish"), "{e}");
    }

    #[tokio::test]
    async fn token_file_is_read_each_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let auth = Auth::TokenFile(path.clone());
        assert!(matches!(credential(&auth).await.unwrap(), Credential::Token(t) if t == "first"));
        std::fs::write(&path, "second").unwrap();
        assert!(matches!(credential(&auth).await.unwrap(), Credential::Token(t) if t == "second"));
    }
}
