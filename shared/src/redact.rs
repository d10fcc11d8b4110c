//! Secrets out of samples before they are stored or sent: AWS access key ids and secret
//! keys, bearer and JWT tokens, passwords in URLs, `password=` / `"password":` values and
//! private keys.

use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::LazyLock;

pub const MASK: &str = "[REDACTED]";

static SECRETS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
          (?P<pem> -----BEGIN[A-Z\x20]*PRIVATE\x20KEY-----
                   (?: (?s:.*?) -----END[A-Z\x20]*PRIVATE\x20KEY----- | (?s:.*) ) )   # a whole key block, or to the end
        | (?P<akid> \b(?:AKIA|ASIA|AIDA|AROA|AGPA)[0-9A-Z]{16}\b )                      # AWS access key ids
        | (?P<jwt> \beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*)            # JSON Web Tokens
        | (?P<bearer_kw> (?i:\bbearer) \s+ ) (?P<bearer> [A-Za-z0-9\-._~+/]{8,}=* )      # Authorization: Bearer …
        | (?P<url_user> [a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@"']+: ) (?P<url_pw> [^\s@/"']+ ) (?P<at> @ )   # scheme://user:password@host
        | (?P<key> (?i: aws_secret_access_key | secret_access_key | secretaccesskey | password | passwd | pwd
                       | secret | client_secret | api[_-]?key | access[_-]?token | auth[_-]?token | token ) )
          (?P<sep> "? \s* [:=] \s* "? )
          (?P<value> [^\s"'&,;}]+ )                                                        # key=value, "key": "value"
        "#,
    )
    .expect("valid redaction regex")
});

/// `text` with every secret replaced by [`MASK`].
pub fn redact(text: &str) -> Cow<'_, str> {
    SECRETS.replace_all(text, |c: &Captures| {
        if c.name("pem").is_some() || c.name("akid").is_some() || c.name("jwt").is_some() {
            MASK.to_string()
        } else if let Some(kw) = c.name("bearer_kw") {
            format!("{}{MASK}", kw.as_str())
        } else if let Some(user) = c.name("url_user") {
            format!("{}{MASK}@", user.as_str())
        } else {
            format!("{}{}{MASK}", &c["key"], &c["sep"])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked() {
        let cases = [
            (
                "aws key AKIAIOSFODNN7EXAMPLE used",
                "aws key [REDACTED] used",
            ),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY rest",
                "aws_secret_access_key=[REDACTED] rest",
            ),
            (
                r#"{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#,
                r#"{"SecretAccessKey": "[REDACTED]"}"#,
            ),
            (
                "Authorization: Bearer abcdef1234567890xyz",
                "Authorization: Bearer [REDACTED]",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
                "token [REDACTED] ok",
            ),
            (
                "connecting to postgres://app:s3cr3t-pw@db.internal:5432/orders",
                "connecting to postgres://app:[REDACTED]@db.internal:5432/orders",
            ),
            (
                "login password=hunter2 user=bob",
                "login password=[REDACTED] user=bob",
            ),
            (
                r#"{"user":"bob","password":"hunter2"}"#,
                r#"{"user":"bob","password":"[REDACTED]"}"#,
            ),
            (
                "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY----- done",
                "key: [REDACTED] done",
            ),
            ("-----BEGIN PRIVATE KEY-----\nMIIEow…(cut)", "[REDACTED]"),
            ("api_key=sk_live_abc123 next", "api_key=[REDACTED] next"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "ERROR dial tcp 10.0.0.1:5432: connect: connection refused",
            "GET https://api.example.com/orders?id=5 502",
            "password reset email sent to user 42",
            "token refreshed",
            "the key AKIA is not a key id",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
