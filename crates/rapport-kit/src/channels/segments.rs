//! How long an SMS is, as carriers count it. A text made only of the GSM 03.38 alphabet travels
//! in GSM-7: 160 characters in one message, or 153 per segment when it is split (the rest of
//! each segment carries the header that joins them), the extension characters (`€ [ ] { } ^ ~
//! \ |` and form feed) counting twice. Any other character (Chinese, emoji, most accented
//! letters) makes the whole text UCS-2: 70 UTF-16 units in one message, 67 per segment, a
//! character outside the BMP (most emoji) counting twice. Neither an extension character nor
//! such a pair is split between segments.

/// The GSM 03.38 basic alphabet (without the escape to the extension table).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table: each is sent as the escape and itself.
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// How a text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The GSM 03.38 7-bit alphabet.
    Gsm7,
    /// UCS-2 (UTF-16).
    Ucs2,
}

/// The length of an SMS text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLength {
    /// How it is encoded.
    pub encoding: Encoding,
    /// Characters (Unicode scalar values), as a person counts them.
    pub characters: usize,
    /// Units the carrier counts: septets in GSM-7, UTF-16 units in UCS-2.
    pub units: usize,
    /// Messages it is sent as (0 for an empty text).
    pub segments: usize,
    /// Units left in the last segment before it takes one more.
    pub remaining: usize,
}

impl Encoding {
    /// Units that fit in a single message, and in each segment of a split one.
    pub fn capacity(self) -> (usize, usize) {
        match self {
            Self::Gsm7 => (160, 153),
            Self::Ucs2 => (70, 67),
        }
    }

    /// Units `c` takes.
    fn units(self, c: char) -> usize {
        match self {
            Self::Gsm7 if GSM7_EXTENSION.contains(c) => 2,
            Self::Gsm7 => 1,
            Self::Ucs2 => c.len_utf16(),
        }
    }
}

/// The encoding, length and segments of `text`.
pub fn sms_length(text: &str) -> SmsLength {
    let gsm7 = text
        .chars()
        .all(|c| GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c));
    let encoding = if gsm7 { Encoding::Gsm7 } else { Encoding::Ucs2 };
    let units: usize = text.chars().map(|c| encoding.units(c)).sum();
    let (single, per_segment) = encoding.capacity();
    let (segments, remaining) = if units == 0 {
        (0, single)
    } else if units <= single {
        (1, single - units)
    } else {
        // Fill segments character by character: a character that does not fit whole starts
        // the next segment.
        let (mut segments, mut used) = (1, 0);
        for c in text.chars() {
            let n = encoding.units(c);
            if used + n > per_segment {
                segments += 1;
                used = 0;
            }
            used += n;
        }
        (segments, per_segment - used)
    };
    SmsLength {
        encoding,
        characters: text.chars().count(),
        units,
        segments,
        remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(text: &str) -> (Encoding, usize, usize) {
        let l = sms_length(text);
        (l.encoding, l.units, l.segments)
    }

    #[test]
    fn ascii_is_gsm7_160_then_153_per_segment() {
        assert_eq!(segments(""), (Encoding::Gsm7, 0, 0));
        assert_eq!(segments("Hello"), (Encoding::Gsm7, 5, 1));
        assert_eq!(segments(&"a".repeat(160)), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"a".repeat(161)), (Encoding::Gsm7, 161, 2));
        assert_eq!(segments(&"a".repeat(306)), (Encoding::Gsm7, 306, 2));
        assert_eq!(segments(&"a".repeat(307)), (Encoding::Gsm7, 307, 3));
        let l = sms_length("Your code is 1234");
        assert_eq!((l.characters, l.remaining), (17, 143));
    }

    #[test]
    fn extension_characters_count_twice_and_are_not_split() {
        assert_eq!(segments("€5 {x}"), (Encoding::Gsm7, 9, 1));
        assert_eq!(segments(&"€".repeat(80)), (Encoding::Gsm7, 160, 1));
        assert_eq!(segments(&"€".repeat(81)), (Encoding::Gsm7, 162, 2));
        // 152 septets, then a two-septet character that would straddle the boundary.
        let text = format!("{}€", "a".repeat(152));
        assert_eq!(segments(&text), (Encoding::Gsm7, 154, 1));
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(segments(&text), (Encoding::Gsm7, 164, 2));
        assert_eq!(sms_length(&text).remaining, 153 - 12);
        assert_eq!(segments("Grüße à Zoë"), (Encoding::Ucs2, 11, 1));
        // Ç is in the alphabet, ç is not.
        assert_eq!(segments("Ça va"), (Encoding::Gsm7, 5, 1));
        assert_eq!(segments("ça va"), (Encoding::Ucs2, 5, 1));
        assert_eq!(segments("Ä Ö Ü ä ö ü ñ é è à"), (Encoding::Gsm7, 19, 1));
    }

    #[test]
    fn chinese_is_ucs2_70_then_67_per_segment() {
        let l = sms_length("王芳您好，您的优惠券SPRING20已到账");
        assert_eq!(
            (l.encoding, l.characters, l.units, l.segments),
            (Encoding::Ucs2, 21, 21, 1)
        );
        assert_eq!(segments(&"好".repeat(70)), (Encoding::Ucs2, 70, 1));
        assert_eq!(segments(&"好".repeat(71)), (Encoding::Ucs2, 71, 2));
        assert_eq!(segments(&"好".repeat(134)), (Encoding::Ucs2, 134, 2));
        assert_eq!(segments(&"好".repeat(135)), (Encoding::Ucs2, 135, 3));
        // One Chinese character turns a whole English text into UCS-2.
        assert_eq!(
            segments(&format!("{}好", "a".repeat(69))),
            (Encoding::Ucs2, 70, 1)
        );
        assert_eq!(
            segments(&format!("{}好", "a".repeat(70))),
            (Encoding::Ucs2, 71, 2)
        );
    }

    #[test]
    fn emoji_take_two_units_and_stay_whole() {
        assert_eq!(segments("🎉"), (Encoding::Ucs2, 2, 1));
        let text = format!("{}🎉", "好".repeat(66));
        assert_eq!(segments(&text), (Encoding::Ucs2, 68, 1));
        let text = format!("{}🎉", "好".repeat(69));
        assert_eq!(segments(&text), (Encoding::Ucs2, 71, 2));
        let l = sms_length(&text);
        // 67 characters fill the first segment; two and the emoji go in the second.
        assert_eq!(l.remaining, 67 - 2 - 2);
    }
}
