#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oxmapi_wire::fuzzing::rop_notify(data);
});
