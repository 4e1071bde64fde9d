//! The table of a run: one line per measurement, with wxmp's ratios to the
//! HTTP bound at the same connections and to the storage floor.

pub fn print(results: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(results)?;
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    let rate = |label: &str, conns: &str| {
        rows.iter()
            .find(|r| r[0] == label && (conns.is_empty() || r[1] == conns))
            .and_then(|r| r[2].parse::<f64>().ok())
    };
    let floor = rate("floor", "");
    println!(
        "| run | conns | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU % | peak RSS MiB | loadgen CPU % | / HTTP bound | / storage floor |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let ratio = |reference: Option<f64>| match (r[2].parse::<f64>().ok(), reference) {
            (Some(x), Some(y)) if y > 0.0 && r[0] != "http" && !r[0].starts_with("floor") => {
                format!("{:.1} %", 100.0 * x / y)
            }
            _ => "".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            ratio(rate("http", r[1])),
            ratio(floor)
        );
    }
    Ok(())
}
