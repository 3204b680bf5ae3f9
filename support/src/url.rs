//! URLs in messages: a database or broker URL may carry a password.

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, so a URL can go into an error
/// message or a log line without its password. A URL without one is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..authority_start],
        &userinfo[..colon],
        &url[authority_start + at..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_the_password_only() {
        assert_eq!(
            redact_url("postgres://hub:s3cr:et@db.example:5432/dhub?sslmode=require"),
            "postgres://hub:***@db.example:5432/dhub?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://hub@db/dhub"),
            "postgres://hub@db/dhub"
        );
        assert_eq!(
            redact_url("mysql://root:pw@127.0.0.1:3306/cases"),
            "mysql://root:***@127.0.0.1:3306/cases"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/dhub/state.db"),
            "sqlite:///var/lib/dhub/state.db"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
