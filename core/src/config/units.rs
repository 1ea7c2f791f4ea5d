//! Human-friendly units in configuration: sizes (`"5MiB"`, `1048576`) and durations
//! (`"5m"`, `"1h30m"`, `90` seconds), and a lenient reader for numbers and booleans that
//! arrive as strings from environment variables.
//!
//! Invariant: every size and duration a setting can hold is bounded here, at parsing
//! ([`MAX_BYTES`], [`MAX_DURATION`]), so no configured value can overflow the date and
//! size arithmetic done with it; the error names the setting (the loader adds its path).
//! Settings with tighter limits (presign lifetimes, part sizes) are checked in `validate`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// The largest size any setting accepts: 1 EiB. Far above any quota, and small enough
/// that sums of such sizes still fit the 64-bit signed columns that count bytes.
pub const MAX_BYTES: u64 = 1 << 60;

/// The longest duration any setting accepts: ten years (3650d). Far above any deadline or
/// interval, and small enough that deadlines computed from it stay within the dates
/// chrono, PostgreSQL and SQLite hold.
pub const MAX_DURATION: Duration = Duration::from_secs(3_650 * 86_400);

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub const KIB: u64 = 1024;
    pub const MIB: u64 = 1024 * 1024;
    pub const GIB: u64 = 1024 * 1024 * 1024;

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("`{s}` is not a size such as 512KiB, 5MiB or 1GB"))?;
        let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "kib" => Self::KIB,
            "m" | "mb" => 1000 * 1000,
            "mib" => Self::MIB,
            "g" | "gb" => 1000 * 1000 * 1000,
            "gib" => Self::GIB,
            "t" | "tb" => 1000 * 1000 * 1000 * 1000,
            "tib" => Self::GIB * 1024,
            other => {
                return Err(format!(
                    "`{other}` is not a size unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)"
                ));
            }
        };
        let too_large =
            || format!("`{s}` is larger than 1EiB (1048576TiB), the largest size accepted");
        match n.checked_mul(factor) {
            Some(bytes) if bytes <= MAX_BYTES => Ok(ByteSize(bytes)),
            _ => Err(too_large()),
        }
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}B", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d)
    }
}

/// A duration written as `"30s"`, `"5m"`, `"1h30m"`, `"7d"`, or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }

    pub fn get(self) -> Duration {
        self.0
    }

    /// The duration as a chrono duration, saturating at [`MAX_DURATION`] (which parsing
    /// already enforces).
    pub fn chrono(self) -> chrono::Duration {
        chrono::Duration::from_std(self.0.min(MAX_DURATION))
            .unwrap_or(chrono::Duration::days(3_650))
    }
}

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bounded = |d: Duration| {
            if d <= MAX_DURATION {
                Ok(Dur(d))
            } else {
                Err(format!(
                    "`{text}` is longer than 3650d (ten years), the longest duration accepted"
                ))
            }
        };
        if let Ok(secs) = text.parse::<u64>() {
            return bounded(Duration::from_secs(secs));
        }
        let bad = || format!("`{text}` is not a duration such as 30s, 5m, 1h30m or 7d");
        let mut total_ms: u64 = 0;
        let mut rest = text;
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits_end = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
            if digits_end == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits_end].parse().map_err(|_| bad())?;
            let after = &rest[digits_end..];
            let unit_end = after
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(after.len());
            let unit_ms: u64 = match &after[..unit_end] {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(bad()),
            };
            total_ms = n
                .checked_mul(unit_ms)
                .and_then(|v| total_ms.checked_add(v))
                .ok_or_else(bad)?;
            rest = &after[unit_end..];
        }
        bounded(Duration::from_millis(total_ms))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient(d)
    }
}

/// Reads `T` either natively (a TOML integer or boolean) or from a string, because
/// environment variables only ever carry strings.
pub fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    struct Visitor<T>(std::marker::PhantomData<T>);

    impl<T> de::Visitor<'_> for Visitor<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number, a boolean or a string")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            v.trim().parse().map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            self.visit_str(&v.to_string())
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            self.visit_str(&v.to_string())
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
            self.visit_str(if v { "true" } else { "false" })
        }
    }

    d.deserialize_any(Visitor(std::marker::PhantomData))
}

/// `lenient` for optional fields (`#[serde(default, deserialize_with = "lenient_opt")]`).
pub fn lenient_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    lenient(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!("5MiB".parse::<ByteSize>(), Ok(ByteSize(5 * 1024 * 1024)));
        assert_eq!("5 MB".parse::<ByteSize>(), Ok(ByteSize(5_000_000)));
        assert_eq!("42".parse::<ByteSize>(), Ok(ByteSize(42)));
        assert_eq!("1gib".parse::<ByteSize>(), Ok(ByteSize(1 << 30)));
        assert!("5 parsecs".parse::<ByteSize>().is_err());
        assert!("MiB".parse::<ByteSize>().is_err());
        assert!("99999999999999999999TiB".parse::<ByteSize>().is_err());
    }

    #[test]
    fn sizes_and_durations_are_bounded() {
        assert_eq!("1048576TiB".parse::<ByteSize>(), Ok(ByteSize(MAX_BYTES)));
        let err = "1048577TiB"
            .parse::<ByteSize>()
            .expect_err("past the bound");
        assert!(err.contains("1EiB"), "{err}");
        assert!("18446744073709551615".parse::<ByteSize>().is_err());
        assert_eq!("3650d".parse::<Dur>(), Ok(Dur(MAX_DURATION)));
        assert_eq!("315360000".parse::<Dur>(), Ok(Dur(MAX_DURATION)));
        for past in [
            "3650d1ms",
            "3651d",
            "315360001",
            "18446744073709551615",
            "99999999999d",
        ] {
            let err = past.parse::<Dur>().expect_err(past);
            assert!(err.contains("3650d"), "{past}: {err}");
        }
        assert_eq!(Dur(Duration::MAX).chrono(), chrono::Duration::days(3_650));
    }

    #[test]
    fn durations_parse_compound_units() {
        assert_eq!("90".parse::<Dur>(), Ok(Dur::secs(90)));
        assert_eq!("5m".parse::<Dur>(), Ok(Dur::secs(300)));
        assert_eq!("1h30m".parse::<Dur>(), Ok(Dur::secs(5400)));
        assert_eq!("7d".parse::<Dur>(), Ok(Dur::secs(7 * 86400)));
        assert_eq!("250ms".parse::<Dur>(), Ok(Dur(Duration::from_millis(250))));
        for bad in ["", "m", "5x", "h5", "5m3"] {
            assert!(bad.parse::<Dur>().is_err(), "{bad:?} parsed");
        }
    }
}
