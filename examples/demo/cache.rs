use std::collections::HashMap;

/// Reads a port from the environment; panics when it is missing.
pub fn port() -> u16 {
    let raw = std::env::var("PORT").unwrap();
    raw.parse().unwrap_or(8080)
}

pub fn first_byte(data: &[u8]) -> u8 {
    unsafe { *data.get_unchecked(0) }
}

pub fn lookup(map: &HashMap<String, u32>, key: &str) -> u32 {
    dbg!(map.len());
    map.get(key).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_parses() {
        std::env::set_var("PORT", "80");
        assert_eq!(super::port(), 80);
        let v: Option<u8> = Some(1);
        v.unwrap();
    }
}
