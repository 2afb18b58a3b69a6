//! Where a value sits in an event, for error messages (`sensorElementList[0].sensorReport[2].time`).
//! Built on the stack as the walk descends; only formatted when an error is reported.

use std::fmt;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    step: Step<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    pub(crate) const ROOT: Path<'static> = Path {
        parent: None,
        step: Step::Root,
    };

    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            step: Step::Key(key),
        }
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            step: Step::Index(index),
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.step {
            Step::Root => Ok(()),
            Step::Key(key) if matches!(self.parent.map(|p| p.step), None | Some(Step::Root)) => {
                f.write_str(key)
            }
            Step::Key(key) => write!(f, ".{key}"),
            Step::Index(index) => write!(f, "[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn displays_keys_and_indices() {
        let root = Path::ROOT;
        let list = root.key("sensorElementList");
        let element = list.index(0);
        let report = element.key("sensorReport");
        let first = report.index(2);
        let time = first.key("time");
        assert_eq!(
            time.to_string(),
            "sensorElementList[0].sensorReport[2].time"
        );
        assert_eq!(root.to_string(), "");
    }
}
