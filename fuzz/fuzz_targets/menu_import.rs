//! The menu read back from WeChat: any JSON becomes rows without panicking,
//! WeChat's rules judge them, and a menu the rules accept imports again into
//! the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wxmp::ids::IdGenerator;
use wxmp::menus::rules::{menu_json, rows_from_wechat};

fuzz_target!(|data: &[u8]| {
    let Ok(remote) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let ids = IdGenerator::new(1);
    let now = chrono::Utc::now();
    let rows = rows_from_wechat(&remote, 7, &ids, now).expect("ids");
    if let Ok(menu) = menu_json(&rows) {
        let again =
            rows_from_wechat(&serde_json::json!({ "menu": menu }), 7, &ids, now).expect("ids");
        assert_eq!(again.len(), rows.len());
        assert_eq!(
            menu_json(&again).expect("accepted once, accepted again"),
            menu
        );
    }
});
