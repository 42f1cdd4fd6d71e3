//! Entities the engine can act on: order numbers (from the workspace's own
//! patterns), e-mail addresses, phone numbers, amounts of money, dates
//! (relative ones resolved against the conversation's clock and time zone)
//! and catalogue product names.

use std::sync::LazyLock;

use baton_core::analysis::{Entity, EntityKind};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use regex::{Captures, Regex};

use crate::NluError;

/// What the extractor needs to know about the workspace.
#[derive(Debug)]
pub struct EntityExtractor {
    orders: Vec<Regex>,
    products: Option<Regex>,
    product_names: Vec<String>,
    /// Whether numeric dates are read day first (3/4 is the 3rd of April).
    day_first: bool,
    tz: Tz,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
        .expect("valid regex")
});

const NUMBER: &str = r"\d{1,3}(?:[.,\x{a0}\x{202f}\x20]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?";
const CURRENCY_AFTER: &str = r"€|\$|£|¥|eur|euros?|usd|dollars?|bucks|gbp|pounds?|quid|chf|jpy|yen";

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?ix)(?P<sym>[€$£¥]|\b(?:eur|usd|gbp|chf|jpy))\s?(?P<n1>{NUMBER})
          |(?P<n2>{NUMBER})\s?(?P<cur>{CURRENCY_AFTER})(?:\b|$|\s)"
    ))
    .expect("valid regex")
});

static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\+|\b00)?\(?\d[\d\s().-]{5,}\d\b").expect("valid regex"));

const MONTHS: &str = concat!(
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?",
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
);
const WEEKDAYS: &str = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday";

static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?ix)
        \b(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})\b
        | \b(?P<a>\d{{1,2}})[/.](?P<b>\d{{1,2}})(?:[/.](?P<y>\d{{4}}|\d{{2}}))?\b
        | \b(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<m1>{MONTHS})\b\.?
          (?:,?\s+(?P<y1>\d{{4}}))?
        | \b(?P<m2>{MONTHS})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y2>\d{{4}}))?
        | \b(?P<rel>today|tonight|tomorrow|yesterday|the\s+day\s+before\s+yesterday
            |the\s+day\s+after\s+tomorrow)\b
        | \b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|ten)\s+(?P<unit>days?|weeks?)\s+ago\b
        | \bin\s+(?P<fn>\d+|a|an|one|two|three|four|five|six|seven|ten)\s+(?P<funit>days?|weeks?)\b
        | \b(?P<dir>last|next|this|by|on|until|since)?\s*(?P<wd>{WEEKDAYS})\b"
    ))
    .expect("valid regex")
});

impl EntityExtractor {
    /// Compiles the workspace's order patterns and product names.
    pub fn new(
        order_patterns: &[String],
        products: &[String],
        locale: &str,
        timezone: &str,
    ) -> Result<Self, NluError> {
        let orders = order_patterns
            .iter()
            .map(|p| {
                Regex::new(p)
                    .map_err(|e| NluError::BadPattern { pattern: p.clone(), source: Box::new(e) })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tz: Tz = timezone.parse().map_err(|_| NluError::BadTimezone(timezone.to_string()))?;
        let mut names: Vec<String> =
            products.iter().filter(|p| !p.trim().is_empty()).cloned().collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let products =
            if names.is_empty() {
                None
            } else {
                let alts: Vec<String> = names.iter().map(|n| regex::escape(n.trim())).collect();
                let re = format!(r"(?i)\b(?:{})\b", alts.join("|"));
                Some(Regex::new(&re).map_err(|e| NluError::BadPattern {
                    pattern: re.clone(),
                    source: Box::new(e),
                })?)
            };
        // Only the United States and a few others write the month first.
        let month_first =
            ["en-US", "en-PH", "en-CA", "es-US"].iter().any(|l| l.eq_ignore_ascii_case(locale));
        Ok(Self { orders, products, product_names: names, day_first: !month_first, tz })
    }

    /// Every entity in a message, in the order they appear.
    pub fn extract(&self, text: &str, now: DateTime<Utc>) -> Vec<Entity> {
        let mut out: Vec<Entity> = Vec::new();
        let today = now.with_timezone(&self.tz).date_naive();

        let phones = phone_spans(text);
        let orders: Vec<regex::Match> =
            self.orders.iter().flat_map(|re| re.find_iter(text)).collect();
        for re in &self.orders {
            for m in re.find_iter(text) {
                if part_of_a_phone(text, &phones, &orders, &m) {
                    continue;
                }
                let value: String = m
                    .as_str()
                    .trim_start_matches('#')
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                push(&mut out, EntityKind::OrderNumber, text, m.start(), m.end(), value);
            }
        }
        for m in EMAIL.find_iter(text) {
            let s = m.as_str();
            let (local, domain) = s.split_once('@').unwrap_or((s, ""));
            let value = format!("{local}@{}", domain.to_lowercase());
            push(&mut out, EntityKind::Email, text, m.start(), m.end(), value);
        }
        for c in DATE.captures_iter(text) {
            let m = c.get(0).expect("whole match");
            if let Some(date) = self.resolve_date(&c, today) {
                let (start, end) = trim_span(text, m.start(), m.end());
                push(
                    &mut out,
                    EntityKind::Date,
                    text,
                    start,
                    end,
                    date.format("%Y-%m-%d").to_string(),
                );
            }
        }
        for c in MONEY.captures_iter(text) {
            let m = c.get(0).expect("whole match");
            let num = c.name("n1").or(c.name("n2")).map(|n| n.as_str()).unwrap_or("");
            let cur = c.name("sym").or(c.name("cur")).map(|n| n.as_str()).unwrap_or("");
            if let (Some(amount), Some(code)) = (parse_amount(num), currency_code(cur)) {
                let (start, end) = trim_span(text, m.start(), m.end());
                push(&mut out, EntityKind::Money, text, start, end, format!("{amount:.2} {code}"));
            }
        }
        if let Some(re) = &self.products {
            for m in re.find_iter(text) {
                let canonical = self
                    .product_names
                    .iter()
                    .find(|n| n.trim().eq_ignore_ascii_case(m.as_str()))
                    .cloned()
                    .unwrap_or_else(|| m.as_str().to_string());
                push(&mut out, EntityKind::Product, text, m.start(), m.end(), canonical);
            }
        }
        for (start, end) in phones {
            let raw = &text[start..end];
            let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
            let value = if raw.starts_with('+') {
                format!("+{digits}")
            } else if let Some(rest) = digits.strip_prefix("00") {
                format!("+{rest}")
            } else {
                digits
            };
            push(&mut out, EntityKind::Phone, text, start, end, value);
        }
        out.sort_by_key(|e| e.start);
        out
    }

    fn resolve_date(&self, c: &Captures, today: NaiveDate) -> Option<NaiveDate> {
        let num = |k: &str| c.name(k).and_then(|m| m.as_str().parse::<i32>().ok());
        if let (Some(y), Some(m), Some(d)) = (num("iy"), num("im"), num("id")) {
            return NaiveDate::from_ymd_opt(y, m as u32, d as u32);
        }
        if let (Some(a), Some(b)) = (num("a"), num("b")) {
            let (d, m) = if self.day_first { (a, b) } else { (b, a) };
            let y = match num("y") {
                Some(y) if y < 100 => 2000 + y,
                Some(y) => y,
                // "3/4" without a year: only a date when a slash was used.
                None if c.get(0)?.as_str().contains('/') => today.year(),
                None => return None,
            };
            return NaiveDate::from_ymd_opt(y, m as u32, d as u32);
        }
        let month_day = |m: &str, d: i32, y: Option<i32>| {
            let month = month_number(m)?;
            NaiveDate::from_ymd_opt(y.unwrap_or(today.year()), month, d as u32)
        };
        if let (Some(d), Some(m)) = (num("d1"), c.name("m1")) {
            return month_day(m.as_str(), d, num("y1"));
        }
        if let (Some(m), Some(d)) = (c.name("m2"), num("d2")) {
            return month_day(m.as_str(), d, num("y2"));
        }
        if let Some(rel) = c.name("rel") {
            let r = rel.as_str().to_lowercase();
            let days = if r.contains("before") {
                -2
            } else if r.contains("after") {
                2
            } else {
                match r.as_str() {
                    "tomorrow" => 1,
                    "yesterday" => -1,
                    _ => 0,
                }
            };
            return today.checked_add_signed(Duration::days(days));
        }
        if let (Some(n), Some(unit)) = (c.name("n"), c.name("unit")) {
            let days = count(n.as_str())? * unit_days(unit.as_str());
            return today.checked_sub_signed(Duration::days(days));
        }
        if let (Some(n), Some(unit)) = (c.name("fn"), c.name("funit")) {
            let days = count(n.as_str())? * unit_days(unit.as_str());
            return today.checked_add_signed(Duration::days(days));
        }
        if let Some(wd) = c.name("wd") {
            let target = weekday(wd.as_str())?;
            let dir = c.name("dir").map(|d| d.as_str().to_lowercase());
            let from = today.weekday().num_days_from_monday() as i64;
            let to = target.num_days_from_monday() as i64;
            // A bare weekday is usually about what already happened ("it
            // came on Monday"); "next", "this", "by" and "until" look ahead.
            let offset = match dir.as_deref() {
                Some("next") | Some("this") | Some("by") | Some("until") => {
                    let d = (to - from).rem_euclid(7);
                    if d == 0 {
                        7
                    } else {
                        d
                    }
                }
                Some("last") => {
                    let d = (from - to).rem_euclid(7);
                    -(if d == 0 { 7 } else { d })
                }
                _ => -((from - to).rem_euclid(7)),
            };
            return today.checked_add_signed(Duration::days(offset));
        }
        None
    }
}

/// The spans that read as phone numbers: 7 to 15 digits with the usual
/// separators, an optional `+` or `00` in front.
fn phone_spans(text: &str) -> Vec<(usize, usize)> {
    PHONE
        .find_iter(text)
        .map(|m| trim_span(text, m.start(), m.end()))
        .filter(|&(start, end)| {
            let digits = text[start..end].bytes().filter(u8::is_ascii_digit).count();
            (7..=15).contains(&digits)
        })
        .collect()
}

/// Whether an order-number match is the tail or the middle of a longer
/// phone number ("123-4567" in "+1 (555) 123-4567"): the phone span holds at
/// least an area code's worth of digits that no order number accounts for.
/// "order 112-4455" and two order numbers in a row stay order numbers.
fn part_of_a_phone(
    text: &str,
    phones: &[(usize, usize)],
    orders: &[regex::Match],
    m: &regex::Match,
) -> bool {
    let digits = |s: &str| s.bytes().filter(u8::is_ascii_digit).count();
    phones.iter().any(|&(start, end)| {
        if !(start <= m.start() && m.end() <= end) {
            return false;
        }
        let in_orders: usize = orders
            .iter()
            .filter(|o| start <= o.start() && o.end() <= end)
            .map(|o| digits(o.as_str()))
            .sum();
        digits(&text[start..end]).saturating_sub(in_orders) >= 3
    })
}

fn push(
    out: &mut Vec<Entity>,
    kind: EntityKind,
    text: &str,
    start: usize,
    end: usize,
    value: String,
) {
    if start >= end || out.iter().any(|e| start < e.end && e.start < end) {
        return;
    }
    out.push(Entity { kind, text: text[start..end].to_string(), value, start, end });
}

/// Drops whitespace and stray punctuation from both ends of a match.
fn trim_span(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    let s = &text[start..end];
    let trimmed_start = s.len() - s.trim_start_matches(|c: char| c.is_whitespace()).len();
    start += trimmed_start;
    let s = &text[start..end];
    end = start + s.trim_end_matches(|c: char| c.is_whitespace() || c == '.' || c == ',').len();
    (start, end)
}

/// Reads "1.299,00", "1,250.50", "1 250" and "45" alike: the last
/// separator is the decimal one when two or fewer digits follow it.
fn parse_amount(s: &str) -> Option<f64> {
    let s: String =
        s.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}').collect();
    let last_sep = s.rfind(['.', ',']);
    let (int_part, frac) = match last_sep {
        Some(i) if s.len() - i - 1 <= 2 => (&s[..i], &s[i + 1..]),
        _ => (s.as_str(), ""),
    };
    let digits: String = int_part.chars().filter(|c| c.is_ascii_digit()).collect();
    let value: f64 =
        format!("{}.{}", if digits.is_empty() { "0" } else { &digits }, frac).parse().ok()?;
    Some(value)
}

fn currency_code(s: &str) -> Option<&'static str> {
    let l = s.to_lowercase();
    Some(match l.as_str() {
        "€" | "eur" | "euro" | "euros" => "EUR",
        "$" | "usd" | "dollar" | "dollars" | "bucks" => "USD",
        "£" | "gbp" | "pound" | "pounds" | "quid" => "GBP",
        "¥" | "jpy" | "yen" => "JPY",
        "chf" => "CHF",
        _ => return None,
    })
}

fn month_number(m: &str) -> Option<u32> {
    let l = m.to_lowercase();
    let names =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    names.iter().position(|n| l.starts_with(n)).map(|i| i as u32 + 1)
}

fn weekday(w: &str) -> Option<Weekday> {
    w.to_lowercase().parse().ok()
}

fn count(n: &str) -> Option<i64> {
    let l = n.to_lowercase();
    let words = ["a", "one", "two", "three", "four", "five", "six", "seven"];
    if l == "an" {
        return Some(1);
    }
    if l == "ten" {
        return Some(10);
    }
    if let Some(i) = words.iter().position(|w| *w == l) {
        return Some(i.max(1) as i64);
    }
    l.parse().ok().filter(|&v: &i64| v < 10_000)
}

fn unit_days(u: &str) -> i64 {
    if u.to_lowercase().starts_with("week") {
        7
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ex() -> EntityExtractor {
        EntityExtractor::new(
            &[r"#?W\d{7}".into(), r"A-\d{5}".into(), r"\b\d{3}-\d{4}\b".into()],
            &["Wireless Earbuds".into(), "Smart Watch".into()],
            "en-GB",
            "Europe/Lisbon",
        )
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        // A Wednesday, late in the evening in Lisbon (UTC+0 in March).
        Utc.with_ymd_and_hms(2025, 3, 12, 23, 30, 0).unwrap()
    }

    fn values(text: &str, kind: EntityKind) -> Vec<String> {
        ex().extract(text, now()).into_iter().filter(|e| e.kind == kind).map(|e| e.value).collect()
    }

    #[test]
    fn order_numbers_follow_the_workspace_patterns() {
        assert_eq!(
            values("orders #W1234567, A-20931 and 112-4455", EntityKind::OrderNumber),
            vec!["W1234567", "A-20931", "112-4455"]
        );
    }

    #[test]
    fn an_order_number_is_not_a_phone_number() {
        assert!(values("my order 112-4455 is late", EntityKind::Phone).is_empty());
    }

    #[test]
    fn emails_drop_the_trailing_dot_lowercase_the_domain_and_keep_plus_tags() {
        assert_eq!(
            values("write to Ana.Silva+shop@Example.COM.", EntityKind::Email),
            vec!["Ana.Silva+shop@example.com"]
        );
    }

    #[test]
    fn phones_with_country_codes_and_parentheses_are_found() {
        assert_eq!(values("call +351 912 345 678", EntityKind::Phone), vec!["+351912345678"]);
        assert_eq!(values("call (555) 123 4567 please", EntityKind::Phone), vec!["5551234567"]);
        assert_eq!(values("or 0044 20 7946 0958", EntityKind::Phone), vec!["+442079460958"]);
    }

    #[test]
    fn a_configured_order_number_is_never_also_read_as_a_phone() {
        let text = "order #W1234567 and 112-4455, call +1 (555) 123-4567";
        assert_eq!(values(text, EntityKind::OrderNumber), vec!["W1234567", "112-4455"]);
        assert_eq!(values(text, EntityKind::Phone), vec!["+15551234567"]);
        let two = "orders 112-4455 113-5566";
        assert_eq!(values(two, EntityKind::OrderNumber), vec!["112-4455", "113-5566"]);
        assert!(values(two, EntityKind::Phone).is_empty());
    }

    #[test]
    fn several_emails_in_one_message_are_each_normalised() {
        assert_eq!(
            values("from bo+returns@Shop.Example.ORG or to ana@mail.test.", EntityKind::Email),
            vec!["bo+returns@shop.example.org", "ana@mail.test"]
        );
    }

    #[test]
    fn money_reads_currencies_and_locale_separators() {
        assert_eq!(values("it cost 45 EUR", EntityKind::Money), vec!["45.00 EUR"]);
        assert_eq!(values("about 1 250 euros", EntityKind::Money), vec!["1250.00 EUR"]);
        assert_eq!(values("paid 1.299,00 €", EntityKind::Money), vec!["1299.00 EUR"]);
        assert_eq!(values("refund $19.99 now", EntityKind::Money), vec!["19.99 USD"]);
        assert_eq!(values("£1,250.50 total", EntityKind::Money), vec!["1250.50 GBP"]);
    }

    #[test]
    fn relative_dates_resolve_in_the_workspace_time_zone() {
        assert_eq!(values("it came yesterday", EntityKind::Date), vec!["2025-03-11"]);
        assert_eq!(values("by tomorrow", EntityKind::Date), vec!["2025-03-13"]);
        assert_eq!(values("3 days ago", EntityKind::Date), vec!["2025-03-09"]);
        assert_eq!(values("next friday", EntityKind::Date), vec!["2025-03-14"]);
        assert_eq!(values("last monday", EntityKind::Date), vec!["2025-03-10"]);
    }

    #[test]
    fn numeric_dates_follow_the_locale() {
        assert_eq!(values("on 3/4/2025", EntityKind::Date), vec!["2025-04-03"]);
        assert_eq!(values("since 3/3/2025", EntityKind::Date), vec!["2025-03-03"]);
        assert_eq!(values("on 13/3/2025", EntityKind::Date), vec!["2025-03-13"]);
        let us = EntityExtractor::new(&[], &[], "en-US", "America/New_York").unwrap();
        let d: Vec<String> =
            us.extract("on 3/4/2025", now()).into_iter().map(|e| e.value).collect();
        assert_eq!(d, vec!["2025-03-04"]);
        assert_eq!(
            values("March 3rd, 2025 and 2025-01-31", EntityKind::Date),
            vec!["2025-03-03", "2025-01-31"]
        );
    }

    #[test]
    fn time_zone_moves_today() {
        let tokyo = EntityExtractor::new(&[], &[], "en-GB", "Asia/Tokyo").unwrap();
        let d: Vec<String> = tokyo.extract("today", now()).into_iter().map(|e| e.value).collect();
        assert_eq!(d, vec!["2025-03-13"]);
    }

    #[test]
    fn catalogue_products_are_found_by_name() {
        let e = ex().extract("my wireless earbuds broke", now());
        assert_eq!(e[0].kind, EntityKind::Product);
        assert_eq!(e[0].value, "Wireless Earbuds");
        assert_eq!(e[0].text, "wireless earbuds");
        assert_eq!((e[0].start, e[0].end), (3, 19));
    }

    #[test]
    fn a_bad_order_pattern_is_named_in_the_error() {
        let err = EntityExtractor::new(&["W(\\d".into()], &[], "en-GB", "UTC").unwrap_err();
        assert!(err.to_string().contains("W(\\d"), "{err}");
    }

    #[test]
    fn an_unknown_time_zone_is_an_error() {
        assert!(matches!(
            EntityExtractor::new(&[], &[], "en-GB", "Mars/Olympus"),
            Err(NluError::BadTimezone(_))
        ));
    }
}
