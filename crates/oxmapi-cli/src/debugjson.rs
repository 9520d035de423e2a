//! Turns Rust's `{:#?}` output of the wire types into JSON.
//!
//! The wire crate's types have `Debug` impls that print spec names (`PidTagSubject(0x0037001F)`,
//! `MAPI_E_NOT_FOUND 0x8004010F`); reading that structure back gives `oxmapi inspect --json`
//! one generic path for every decoded structure without a serde dependency in the codec.
//! Grammar: value = struct `Name { k: v, .. }` | tuple `Name(v, ..)` | list `[v, ..]` |
//! map `{k: v, ..}` | string `"..."` | char `'c'` | bare token (numbers, unit variants, names).

use serde_json::{Map, Value};

/// Converts Debug text to JSON; falls back to the raw text when it does not parse.
pub(crate) fn to_json(debug: &str) -> Value {
    let mut p = Parser {
        s: debug.as_bytes(),
        i: 0,
    };
    match p.value() {
        Some(v) if p.at_end() => v,
        _ => Value::String(debug.to_owned()),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn at_end(&mut self) -> bool {
        self.ws();
        self.i >= self.s.len()
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => self.string().map(Value::String),
            b'\'' => self.char_lit().map(Value::String),
            b'[' => self.list(b'[', b']').map(Value::Array),
            b'(' => self.list(b'(', b')').map(Value::Array),
            b'{' => self.map(),
            _ => self.named(),
        }
    }

    fn token(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c.is_ascii_alphanumeric() || b"_.-+:<>&*!".contains(&c) {
                // `::` paths and `-1.5e3` numbers are tokens; a lone ':' ends a field name.
                if c == b':' && self.s.get(self.i + 1) != Some(&b':') {
                    if self.i > start && self.s[self.i - 1] == b':' {
                        self.i += 1;
                        continue;
                    }
                    break;
                }
                self.i += 1;
            } else {
                break;
            }
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn named(&mut self) -> Option<Value> {
        let name = self.token()?;
        // `MAPI_E_NOT_FOUND 0x8004010F`: a name followed by a hex code on the same line.
        let save = self.i;
        if self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
            if let Some(code) = self.token()
                && code.starts_with("0x")
            {
                return Some(Value::String(format!("{name} {code}")));
            }
            self.i = save;
        }
        match self.peek() {
            Some(b'{') => {
                let Value::Object(mut m) = self.map()? else {
                    return None;
                };
                m.insert("_type".into(), Value::String(name));
                Some(Value::Object(m))
            }
            Some(b'(') => {
                let items = self.list(b'(', b')')?;
                if items.len() == 1 {
                    let mut m = Map::new();
                    let inner = items.into_iter().next()?;
                    // `PidTagSubject(0x0037001F)` reads better as one string.
                    if let Value::String(s) = &inner
                        && s.starts_with("0x")
                    {
                        return Some(Value::String(format!("{name}({s})")));
                    }
                    m.insert(name, inner);
                    Some(Value::Object(m))
                } else {
                    let mut m = Map::new();
                    m.insert(name, Value::Array(items));
                    Some(Value::Object(m))
                }
            }
            _ => Some(scalar(&name)),
        }
    }

    fn list(&mut self, open: u8, close: u8) -> Option<Vec<Value>> {
        if !self.eat(open) {
            return None;
        }
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.value()?);
            if !self.eat(b',') && self.peek() != Some(close) {
                return None;
            }
        }
    }

    fn map(&mut self) -> Option<Value> {
        if !self.eat(b'{') {
            return None;
        }
        let mut m = Map::new();
        loop {
            if self.eat(b'}') {
                return Some(Value::Object(m));
            }
            if self.peek() == Some(b'.') {
                // `..` of finish_non_exhaustive
                self.i += 2;
                continue;
            }
            let key = match self.peek()? {
                b'"' => self.string()?,
                _ => self.token()?,
            };
            if !self.eat(b':') {
                return None;
            }
            let v = self.value()?;
            m.insert(key, v);
            if !self.eat(b',') && self.peek() != Some(b'}') {
                return None;
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                let lit = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                return Some(unescape(&lit[1..lit.len() - 1]));
            }
        }
        None
    }

    fn char_lit(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() && self.s[self.i] != b'\'' {
            if self.s[self.i] == b'\\' {
                self.i += 1;
            }
            self.i += 1;
        }
        self.i += 1;
        let lit = std::str::from_utf8(self.s.get(start..self.i)?).ok()?;
        Some(unescape(lit.get(1..lit.len().saturating_sub(1))?))
    }
}

fn scalar(tok: &str) -> Value {
    match tok {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "None" => Value::Null,
        _ => {
            if let Ok(i) = tok.parse::<i64>() {
                Value::from(i)
            } else if let Ok(u) = tok.parse::<u64>() {
                Value::from(u)
            } else if let Ok(f) = tok.parse::<f64>()
                && f.is_finite()
                && tok.contains('.')
            {
                Value::from(f)
            } else {
                Value::String(tok.to_owned())
            }
        }
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let hex: String = it.by_ref().skip(1).take_while(|&c| c != '}').collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        v: Option<u32>,
    }

    #[derive(Debug)]
    #[allow(dead_code)]
    enum E {
        Unit,
        Tuple(i32, bool),
        Struct { inner: Inner, list: Vec<u8> },
    }

    #[test]
    fn converts_pretty_debug() {
        let v = vec![
            E::Unit,
            E::Tuple(-3, true),
            E::Struct {
                inner: Inner {
                    name: "a \"q\"\n".into(),
                    v: Some(7),
                },
                list: vec![1, 2],
            },
        ];
        let j = to_json(&format!("{v:#?}"));
        assert_eq!(j[0], Value::String("Unit".into()));
        assert_eq!(j[1]["Tuple"], serde_json::json!([-3, true]));
        assert_eq!(j[2]["inner"]["name"], Value::String("a \"q\"\n".into()));
        assert_eq!(j[2]["inner"]["v"]["Some"], Value::from(7));
        assert_eq!(j[2]["_type"], Value::String("Struct".into()));
        assert_eq!(j[2]["list"], serde_json::json!([1, 2]));
    }
}
