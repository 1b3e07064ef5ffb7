//! Human durations: `"10s"`, `"1.5ms"`, `"1m30s"`, `"250µs"`.

/// Nanoseconds in each accepted unit.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The largest duration in nanoseconds (`Duration::MAX` holds `u64::MAX` whole seconds).
const MAX_NANOS: u128 = (u64::MAX as u128) * 1_000_000_000 + 999_999_999;

/// Parses a human duration into `(seconds, nanoseconds)`, the arguments of
/// `Duration::new`.
///
/// A duration is one or more `<number><unit>` parts, summed (`"1m30s"`, `"1h 15m"`). The
/// number is decimal, with an optional fraction (`"1.5s"`, `"0.25ms"`); the unit is one of
/// `ns`, `us` (or `µs`), `ms`, `s`, `m` (or `min`) and `h`. The result must be a whole
/// number of nanoseconds.
pub(crate) fn parse(text: &str) -> Result<(u64, u32), String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration: expected something like \"10s\" or \"1m30s\"".into());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let number = &rest[..digits_end];
        rest = rest[digits_end..].trim_start();
        let unit_end = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = rest[unit_end..].trim_start();

        if number.is_empty() {
            return Err(format!(
                "invalid duration {text:?}: expected a number before {:?}",
                if unit.is_empty() { rest } else { unit }
            ));
        }
        if unit.is_empty() {
            return Err(format!(
                "invalid duration {text:?}: `{number}` has no unit (use ns, us, ms, s, m or h)"
            ));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!(
                "invalid duration {text:?}: unknown unit `{unit}` (use ns, us, ms, s, m or h)"
            ));
        };
        total = total
            .checked_add(part_nanos(text, number, scale)?)
            .filter(|&n| n <= MAX_NANOS)
            .ok_or_else(|| format!("duration {text:?} is too large"))?;
    }
    Ok((
        (total / 1_000_000_000) as u64,
        (total % 1_000_000_000) as u32,
    ))
}

/// `number` (decimal, maybe with a fraction) times `scale` nanoseconds, exactly.
fn part_nanos(text: &str, number: &str, scale: u128) -> Result<u128, String> {
    let invalid = || format!("invalid duration {text:?}: `{number}` is not a number");
    let too_large = || format!("duration {text:?} is too large");
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let digits = |s: &str| -> Result<Vec<u8>, String> {
        let digits: Vec<u8> = s.bytes().filter(|&b| b != b'_').collect();
        if digits.iter().all(u8::is_ascii_digit) {
            Ok(digits)
        } else {
            Err(invalid())
        }
    };
    let whole = digits(whole)?;
    let fraction = match fraction {
        Some(f) => digits(f)?,
        None => Vec::new(),
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(invalid());
    }
    let mut nanos: u128 = 0;
    for d in &whole {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(d - b'0')))
            .ok_or_else(too_large)?;
    }
    nanos = nanos.checked_mul(scale).ok_or_else(too_large)?;
    if fraction.len() > 18 {
        return Err(format!(
            "invalid duration {text:?}: too many decimals in `{number}`"
        ));
    }
    let mut numerator: u128 = 0;
    for d in &fraction {
        numerator = numerator * 10 + u128::from(d - b'0');
    }
    let denominator = 10u128.pow(fraction.len() as u32);
    let scaled = numerator * scale;
    if !scaled.is_multiple_of(denominator) {
        return Err(format!(
            "invalid duration {text:?}: `{number}` is finer than a nanosecond"
        ));
    }
    nanos
        .checked_add(scaled / denominator)
        .ok_or_else(too_large)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn accepts_units_fractions_and_combinations() {
        assert_eq!(parse("10s"), Ok((10, 0)));
        assert_eq!(parse("1ns"), Ok((0, 1)));
        assert_eq!(parse("250us"), Ok((0, 250_000)));
        assert_eq!(parse("250µs"), Ok((0, 250_000)));
        assert_eq!(parse("250μs"), Ok((0, 250_000)));
        assert_eq!(parse("15ms"), Ok((0, 15_000_000)));
        assert_eq!(parse("2m"), Ok((120, 0)));
        assert_eq!(parse("2min"), Ok((120, 0)));
        assert_eq!(parse("1h"), Ok((3600, 0)));
        assert_eq!(parse("1m30s"), Ok((90, 0)));
        assert_eq!(parse(" 1h 15m "), Ok((4500, 0)));
        assert_eq!(parse("1.5s"), Ok((1, 500_000_000)));
        assert_eq!(parse("0.2s"), Ok((0, 200_000_000)));
        assert_eq!(parse(".5ms"), Ok((0, 500_000)));
        assert_eq!(parse("1_000ms"), Ok((1, 0)));
        assert_eq!(parse("0s"), Ok((0, 0)));
        assert_eq!(parse("10 s"), Ok((10, 0)));
        assert_eq!(
            parse("18446744073709551615s"),
            Ok((u64::MAX, 0)),
            "Duration::MAX's whole seconds fit"
        );
    }

    #[test]
    fn rejects_the_rest() {
        let message = |text| parse(text).unwrap_err();
        assert!(message("").contains("empty duration"));
        assert!(message("10").contains("has no unit"));
        assert!(message("10 parsecs").contains("unknown unit `parsecs`"));
        assert!(message("s").contains("expected a number"));
        assert!(message("1.2.3s").contains("not a number"));
        assert!(message("1.5ns").contains("finer than a nanosecond"));
        assert!(message("18446744073709551616s").contains("too large"));
        assert!(message("99999999999999999999999999999999999999999h").contains("too large"));
        assert!(message("-1s").contains("expected a number"));
        assert!(message("1s!").contains("expected a number"));
    }
}
