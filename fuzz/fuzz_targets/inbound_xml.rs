//! Inbound XML: any text is parsed into fields and a typed message without
//! panicking; what parses keeps its fields and dedupes stably.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::wechat::{xml, InboundMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(fields) = xml::parse(text) else {
        return;
    };
    if let Ok(message) = InboundMessage::from_fields(fields.clone()) {
        // Parsing the same text again gives the same message.
        let again = InboundMessage::parse(text).expect("parsed once, parses again");
        assert_eq!(message.dedupe_key(), again.dedupe_key());
        let _ = message.event_name();
        let _ = message.event_key();
        let _ = message.is_fan_interaction();
    }
});
