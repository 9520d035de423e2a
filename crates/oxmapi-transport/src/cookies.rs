//! The cookies of one MAPI/HTTP session context (MS-OXCMAPIHTTP 3.1.5.1): every cookie the
//! server sets is sent back on every later request; a cookie set again replaces the old value
//! (the sequence cookie changes with every response).

/// Cookies by name, in the order first set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    /// Applies one `Set-Cookie` header value (RFC 6265 5.2, name and value only;
    /// `Max-Age<=0` deletes).
    pub(crate) fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        if name.is_empty() {
            return;
        }
        let expired = parts.any(|attr| {
            attr.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("max-age")
                    && v.trim().parse::<i64>().is_ok_and(|age| age <= 0)
            })
        });
        if expired {
            self.cookies.retain(|(n, _)| n != name);
        } else if let Some(slot) = self.cookies.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value.to_owned();
        } else {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    /// The `Cookie` header value, or `None` when empty.
    pub(crate) fn header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cookies.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub(crate) fn clear(&mut self) {
        self.cookies.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keep_and_delete() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.store("MapiContext=abc; path=/mapi/emsmdb; secure; HttpOnly");
        jar.store("MapiSequence=1-x; path=/mapi/emsmdb");
        assert_eq!(
            jar.header().as_deref(),
            Some("MapiContext=abc; MapiSequence=1-x")
        );
        jar.store("MapiSequence=2-y; path=/mapi/emsmdb");
        assert_eq!(
            jar.header().as_deref(),
            Some("MapiContext=abc; MapiSequence=2-y")
        );
        jar.store("MapiContext=; Max-Age=0");
        assert_eq!(jar.header().as_deref(), Some("MapiSequence=2-y"));
        jar.store("garbage");
        jar.store("=x");
        assert_eq!(jar.iter().count(), 1);
    }
}
