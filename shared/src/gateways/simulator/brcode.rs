//! Pix BR Code (EMV QR Code Merchant Presented Mode, as the Banco Central's manual specifies):
//! the "copia e cola" string the payer pastes into a banking app.

use crate::domain::Money;

fn tlv(out: &mut String, id: &str, value: &str) {
    out.push_str(id);
    out.push_str(&format!("{:02}", value.len()));
    out.push_str(value);
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), the checksum of tag 63.
pub fn crc16_ccitt(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A dynamic BR Code pointing at `location` (no scheme, as PSPs return it), for `amount`.
/// `merchant` and `city` are cut to the lengths the spec allows and reduced to ASCII.
pub fn dynamic_br_code(
    location: &str,
    amount: Money,
    merchant: &str,
    city: &str,
    txid: &str,
) -> String {
    let ascii = |s: &str, max: usize| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .take(max)
            .collect::<String>()
            .to_uppercase()
    };
    let mut mai = String::new();
    tlv(&mut mai, "00", "br.gov.bcb.pix");
    tlv(&mut mai, "25", location);
    let mut add = String::new();
    tlv(&mut add, "05", &txid.chars().take(25).collect::<String>());

    let mut out = String::new();
    tlv(&mut out, "00", "01");
    tlv(&mut out, "01", "12");
    tlv(&mut out, "26", &mai);
    tlv(&mut out, "52", "0000");
    tlv(&mut out, "53", amount.currency().numeric());
    tlv(&mut out, "54", &amount.to_decimal_string());
    tlv(&mut out, "58", "BR");
    tlv(&mut out, "59", &ascii(merchant, 25));
    tlv(&mut out, "60", &ascii(city, 15));
    tlv(&mut out, "62", &add);
    out.push_str("6304");
    let crc = crc16_ccitt(out.as_bytes());
    out.push_str(&format!("{crc:04X}"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn crc_matches_the_standard_check_value() {
        // CRC-16/CCITT-FALSE check value for "123456789".
        assert_eq!(crc16_ccitt(b"123456789"), 0x29B1);
    }

    #[test]
    fn br_code_is_well_formed() {
        let m = Money::new(1990, Currency::BRL).unwrap();
        let code = dynamic_br_code(
            "pix.example.com/qr/v2/abc",
            m,
            "Loja Demo",
            "Sao Paulo",
            "TX1",
        );
        assert!(code.starts_with("000201010212"));
        assert!(code.contains("0014br.gov.bcb.pix"));
        assert!(code.contains("5303986"));
        assert!(code.contains("540519.90"));
        let (body, crc) = code.split_at(code.len() - 4);
        assert_eq!(format!("{:04X}", crc16_ccitt(body.as_bytes())), crc);
    }
}
