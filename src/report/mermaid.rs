//! The path pictures as Mermaid flowcharts (GitHub renders them in markdown and the step
//! summary). A failing link is red and carries the ids of the checks that break it.

use std::fmt::Write;

use crate::checks::PathPicture;

const RED: &str = "#d1242f";

/// Mermaid's entity code for characters that would end a quoted text.
fn text(line: &str) -> String {
    line.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

pub fn flowchart(picture: &PathPicture) -> String {
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for node in &picture.nodes {
        let lines: Vec<String> = node.lines.iter().map(|l| text(l)).collect();
        writeln!(out, "  {}[\"{}\"]", node.id, lines.join("<br>")).expect("writing to a String");
    }
    let mut red = Vec::new();
    for (index, link) in picture.links.iter().enumerate() {
        let label = if link.failing.is_empty() {
            link.label.clone()
        } else {
            red.push(index.to_string());
            link.failing.join(", ")
        };
        match label.is_empty() {
            true => writeln!(out, "  {} --> {}", link.from, link.to),
            false => writeln!(out, "  {} -->|\"{}\"| {}", link.from, text(&label), link.to),
        }
        .expect("writing to a String");
    }
    if !red.is_empty() {
        writeln!(
            out,
            "  linkStyle {} stroke:{RED},stroke-width:2px,color:{RED}",
            red.join(",")
        )
        .expect("writing to a String");
    }
    out.push_str("```\n");
    out
}
