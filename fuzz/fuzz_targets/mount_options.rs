//! A mount's `options` (NUL-separated in the input): parsing must never
//! panic, and bind/data must agree with the options given. (An option that
//! holds a comma reaches the filesystem as several data options, as in runc:
//! the config's author chose it, so it is not checked here.)
#![no_main]

use libcontainer::fuzzing::parse_mount_options as parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options: Vec<String> = data
        .split(|b| *b == 0)
        .map(|o| String::from_utf8_lossy(o).into_owned())
        .collect();
    if options.iter().any(|o| o.contains(',')) {
        let _ = parse(&options);
        return;
    }
    if let Ok(parsed) = parse(&options) {
        let bind = options.iter().any(|o| o == "bind" || o == "rbind");
        assert_eq!(parsed.bind, bind, "{options:?}");
        for known in ["ro", "rw", "nosuid", "bind", "rbind", "rslave", "tmpcopyup"] {
            assert!(
                !parsed.data.split(',').any(|d| d == known),
                "{known} leaked into the data string: {options:?}"
            );
        }
    }
});
