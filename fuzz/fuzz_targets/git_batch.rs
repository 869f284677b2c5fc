//! The `git cat-file --batch` stream reader on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut r = std::io::Cursor::new(data);
    while let Ok(Some(_)) = trustmap_connector_git::read_batch_entry(&mut r) {}
});
