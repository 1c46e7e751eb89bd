//! `husk features`: the runtime-spec features document, indented as runc prints it.

use serde::Serialize;
use serde_json::Value;

use super::CmdResult;

pub fn run() -> CmdResult {
    let mut doc = serde_json::to_value(libcontainer::features::features())?;
    drop_nulls(&mut doc);
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    doc.serialize(&mut serde_json::Serializer::with_formatter(&mut out, fmt))?;
    println!("{}", String::from_utf8(out)?);
    Ok(0)
}

/// features.md: an absent field means "unknown"; oci-spec writes those as
/// `null`, runc leaves them out.
fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
