//! The window of time statistics cover: `all`, or the last `<n><unit>` with
//! the unit `m` (minutes), `h` (hours), `d` (days) or `w` (weeks).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest window: longer than anything is kept.
const MAX_WINDOW: Duration = Duration::from_secs(100 * 366 * 24 * 60 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// `None`: everything kept.
    span: Option<Duration>,
    count: u64,
    unit: char,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a window: write `all`, or a number and a unit, as 30m, 24h, 7d or 2w")]
pub struct WindowError(String);

impl Window {
    /// Everything kept.
    pub const ALL: Window = Window { span: None, count: 0, unit: ' ' };

    /// The first time in the window, in Unix milliseconds, when it is `now_ms`.
    pub fn since_ms(&self, now_ms: i64) -> Option<i64> {
        self.span.map(|span| now_ms.saturating_sub(span.as_millis() as i64))
    }
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(text: &str) -> Result<Window, WindowError> {
        let refuse = || WindowError(text.to_owned());
        let trimmed = text.trim();
        if trimmed.eq_ignore_ascii_case("all") {
            return Ok(Window::ALL);
        }
        let unit = trimmed.chars().last().ok_or_else(refuse)?;
        let seconds = match unit {
            'm' => 60,
            'h' => 60 * 60,
            'd' => 24 * 60 * 60,
            'w' => 7 * 24 * 60 * 60,
            _ => return Err(refuse()),
        };
        let count: u64 = trimmed[..trimmed.len() - 1].parse().map_err(|_| refuse())?;
        let span = count.checked_mul(seconds).map(Duration::from_secs).filter(|span| !span.is_zero() && *span <= MAX_WINDOW).ok_or_else(refuse)?;
        Ok(Window { span: Some(span), count, unit })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.span {
            None => formatter.write_str("all"),
            Some(_) => write!(formatter, "{}{}", self.count, self.unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_as_a_count_and_a_unit() {
        let day: Window = "24h".parse().unwrap();
        assert_eq!(day.since_ms(100_000_000), Some(100_000_000 - 86_400_000));
        assert_eq!(day.to_string(), "24h");
        assert_eq!("7d".parse::<Window>().unwrap().since_ms(0), Some(-7 * 86_400_000));
        assert_eq!("30m".parse::<Window>().unwrap().since_ms(0), Some(-1_800_000));
        assert_eq!("2w".parse::<Window>().unwrap().to_string(), "2w");
        assert_eq!("all".parse::<Window>().unwrap(), Window::ALL);
        assert_eq!(Window::ALL.since_ms(5), None);
        for wrong in ["", "h", "0d", "-1d", "1y", "3", "1.5h", "99999999999999w"] {
            assert!(wrong.parse::<Window>().is_err(), "{wrong}");
        }
    }
}
