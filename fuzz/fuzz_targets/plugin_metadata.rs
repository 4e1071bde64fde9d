//! Rhai plugin declarations: any `PLUGIN` value (or any source, when the
//! first byte is odd) compiles or is refused with an error, never a panic or
//! a hang; what compiles has a valid name.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use wxmp::plugins::engine::build_engine;
use wxmp::plugins::script::compile;

fn engine() -> Arc<rhai::Engine> {
    static ENGINE: OnceLock<Arc<rhai::Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| Arc::new(build_engine(&Default::default(), Duration::from_millis(50)).expect("engine")))
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let source = if mode % 2 == 0 {
        format!("const PLUGIN = {text};\nfn on_message(msg, ctx) {{ }}\n")
    } else {
        text.to_string()
    };
    if let Ok(script) = compile(
        engine(),
        &Default::default(),
        "fuzz.rhai",
        "fuzz",
        &source,
        Duration::from_millis(50),
    ) {
        let name = &script.declaration.name;
        assert!(!name.is_empty() && name.len() <= 64, "{name:?}");
    }
});
