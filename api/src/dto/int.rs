//! Integers as JSON Schema counts them: `3` and `3.0` are the same integer, and a client
//! generated from the spec may send either. serde would refuse the second; these readers
//! take any number without a fractional part and refuse the rest.

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// The number as a `u64`, if it is a whole, non-negative number in range.
fn whole(value: serde_json::Number) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    // Up to 2^53 a float holds every integer exactly.
    (f.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&f)).then_some(f as u64)
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole(n).ok_or_else(|| de::Error::custom("expected a whole number, zero or more"))
}

pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    number(d)
}

pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = number(d)?;
    u32::try_from(n).map_err(|_| de::Error::custom("number too large"))
}

/// A number in a JSON body, or its text in a query string.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(serde_json::Number),
    Text(String),
}

pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let number = match Option::<NumberOrText>::deserialize(d)? {
        None => return Ok(None),
        Some(NumberOrText::Number(n)) => Some(n),
        Some(NumberOrText::Text(text)) => text.trim().parse::<serde_json::Number>().ok(),
    };
    number
        .and_then(whole)
        .map(Some)
        .ok_or_else(|| de::Error::custom("expected a whole number, zero or more"))
}

pub fn vec_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    Vec::<serde_json::Number>::deserialize(d)?
        .into_iter()
        .map(|n| {
            whole(n)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| de::Error::custom("expected whole numbers"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct N {
        #[serde(deserialize_with = "u64")]
        n: u64,
    }

    fn read(text: &str) -> Option<u64> {
        serde_json::from_str::<N>(text).ok().map(|v| v.n)
    }

    #[derive(Deserialize)]
    struct Q {
        #[serde(default, deserialize_with = "opt_u64")]
        n: Option<u64>,
    }

    #[test]
    fn query_strings_carry_numbers_as_text() {
        let q: Q = serde_urlencoded::from_str("n=600").expect("parses");
        assert_eq!(q.n, Some(600));
        let q: Q = serde_urlencoded::from_str("").expect("parses");
        assert_eq!(q.n, None);
        assert!(serde_urlencoded::from_str::<Q>("n=six").is_err());
    }

    #[test]
    fn whole_floats_are_integers_and_the_rest_are_refused() {
        assert_eq!(read(r#"{"n": 3}"#), Some(3));
        assert_eq!(read(r#"{"n": 3.0}"#), Some(3));
        assert_eq!(read(r#"{"n": 3.5}"#), None);
        assert_eq!(read(r#"{"n": -1}"#), None);
        assert_eq!(read(r#"{"n": 1e300}"#), None);
        assert_eq!(read(r#"{"n": "3"}"#), None);
    }
}
