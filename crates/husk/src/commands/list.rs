//! `husk list`: runc's table (tabwriter: min width 12, padding 3) or JSON.

use libcontainer::Runtime;

use super::CmdResult;
use crate::cli::{ListArgs, ListFormat};

pub fn run(rt: &Runtime, a: &ListArgs) -> CmdResult {
    let containers = rt.list()?;
    if a.quiet {
        for c in &containers {
            println!("{}", c.id);
        }
        return Ok(0);
    }
    match a.format {
        ListFormat::Json => {
            // runc reports the owner's name here (and "" in `state`).
            let list: Vec<serde_json::Value> = containers
                .iter()
                .map(|c| {
                    let mut v = serde_json::to_value(c).unwrap_or_default();
                    v["owner"] = owner_of(rt).into();
                    v
                })
                .collect();
            println!("{}", serde_json::to_string(&list)?);
        }
        ListFormat::Table => {
            let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
                .map(String::from)
                .to_vec()];
            for c in &containers {
                rows.push(vec![
                    c.id.clone(),
                    c.pid.to_string(),
                    c.status.to_string(),
                    c.bundle.display().to_string(),
                    c.created.clone(),
                    owner_of(rt),
                ]);
            }
            print!("{}", table(&rows));
        }
    }
    Ok(0)
}

fn owner_of(rt: &Runtime) -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata(rt.root()).map(|m| m.uid()).unwrap_or(0);
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("#{uid}"))
}

/// Columns as Go's tabwriter(minwidth 12, padding 3) lays them out.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, |r| r.len());
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len() + 3)
                .max()
                .unwrap_or(0)
                .max(12)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_matches_runc_layout() {
        let rows = vec![
            vec!["ID".into(), "PID".into(), "OWNER".into()],
            vec!["t1".into(), "5806".into(), "root".into()],
        ];
        assert_eq!(
            super::table(&rows),
            "ID          PID         OWNER\nt1          5806        root\n"
        );
    }
}
