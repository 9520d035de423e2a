//! Figures and the final table: median of repeated samples with their range, one row per
//! measurement, columns before / after / gromox and the two ratios.

use std::fmt::Write as _;

/// Median, minimum and maximum of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stat {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) n: usize,
}

impl Stat {
    /// `None` for no samples. The median of an even count is the mean of the middle two.
    pub(crate) fn of(samples: &[f64]) -> Option<Self> {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Self {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }

    /// One sample.
    pub(crate) fn one(x: f64) -> Self {
        Self {
            median: x,
            min: x,
            max: x,
            n: 1,
        }
    }

    /// `median (min–max)`, or the median alone for one sample.
    pub(crate) fn show(&self) -> String {
        if self.n <= 1 || self.min == self.max {
            fmt_num(self.median)
        } else {
            format!(
                "{} ({}–{})",
                fmt_num(self.median),
                fmt_num(self.min),
                fmt_num(self.max)
            )
        }
    }
}

/// The `q`-quantile (0..=1) of `samples` by nearest rank; `None` when empty.
pub(crate) fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = samples.to_vec();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// Three significant digits, at most three decimals.
pub(crate) fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// `(x) N: ...` → (N, x); anything else after every such row.
fn sort_key(name: &str) -> (usize, char) {
    let mut chars = name.chars();
    let letter = match (chars.next(), chars.next(), chars.next()) {
        (Some('('), Some(c), Some(')')) => c,
        _ => return (usize::MAX, '~'),
    };
    let size = name
        .get(4..)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(usize::MAX);
    (size, letter)
}

/// A table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Before = 0,
    After = 1,
    Gromox = 2,
}

impl Col {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Before => "before",
            Self::After => "after",
            Self::Gromox => "gromox",
        }
    }
}

/// A cell: a figure, or why there is none.
#[derive(Debug, Clone)]
enum Cell {
    Value(Stat),
    Note(String),
}

#[derive(Debug)]
struct Row {
    name: String,
    cells: [Option<Cell>; 3],
}

/// The rows in the order they were first set, and notes printed under the table.
#[derive(Debug, Default)]
pub(crate) struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    fn row(&mut self, name: &str) -> &mut Row {
        let at = match self.rows.iter().position(|r| r.name == name) {
            Some(at) => at,
            None => {
                self.rows.push(Row {
                    name: name.to_owned(),
                    cells: [None, None, None],
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[at]
    }

    /// Sets a figure (printed at once as well).
    pub(crate) fn set(&mut self, name: &str, col: Col, stat: Stat) {
        println!("  {:<7} {name}: {}", col.name(), stat.show());
        self.row(name).cells[col as usize] = Some(Cell::Value(stat));
    }

    /// Sets a figure from samples; a note when there are none.
    pub(crate) fn set_samples(&mut self, name: &str, col: Col, samples: &[f64]) {
        match Stat::of(samples) {
            Some(s) => self.set(name, col, s),
            None => self.note_cell(name, col, "no samples"),
        }
    }

    /// Says why a cell has no figure (printed at once as well).
    pub(crate) fn note_cell(&mut self, name: &str, col: Col, why: &str) {
        println!("  {:<7} {name}: {why}", col.name());
        self.row(name).cells[col as usize] = Some(Cell::Note(why.to_owned()));
    }

    /// A line printed under the table.
    pub(crate) fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        println!("note: {text}");
        self.notes.push(text);
    }

    /// The table as text: rows = measurements; columns before, after, gromox, after/before,
    /// after/gromox (ratios of the medians).
    pub(crate) fn render(&self, header: &str) -> String {
        let cell = |c: &Option<Cell>| match c {
            Some(Cell::Value(s)) => s.show(),
            Some(Cell::Note(n)) => format!("n/a: {n}"),
            None => "-".to_owned(),
        };
        let value = |c: &Option<Cell>| match c {
            Some(Cell::Value(s)) => Some(s.median),
            _ => None,
        };
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b != 0.0 => format!("{a_b:.2}x", a_b = a / b),
            _ => "-".to_owned(),
        };
        let mut lines: Vec<[String; 6]> = vec![[
            "measurement".to_owned(),
            "before".to_owned(),
            "after".to_owned(),
            "gromox".to_owned(),
            "after/before".to_owned(),
            "after/gromox".to_owned(),
        ]];
        // By size, then by measurement letter; in the order set within one measurement.
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|r| sort_key(&r.name));
        for r in rows {
            let [b, a, g] = &r.cells;
            lines.push([
                r.name.clone(),
                cell(b),
                cell(a),
                cell(g),
                ratio(value(a), value(b)),
                ratio(value(a), value(g)),
            ]);
        }
        let mut widths = [0usize; 6];
        for l in &lines {
            for (w, c) in widths.iter_mut().zip(l) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        out.push_str(header);
        if !header.ends_with('\n') {
            out.push('\n');
        }
        for (i, l) in lines.iter().enumerate() {
            let mut line = String::new();
            for (j, (c, w)) in l.iter().zip(widths).enumerate() {
                let pad = w.saturating_sub(c.chars().count());
                if j == 0 {
                    let _ = write!(line, "{c}{}", " ".repeat(pad));
                } else {
                    let _ = write!(line, "  {}{c}", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\nnotes:\n");
            for n in &self.notes {
                let _ = writeln!(out, "* {n}");
            }
        }
        out
    }
}
