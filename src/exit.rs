//! Exit codes: the one place that maps an outcome to a process status.
//!
//! Codes stay below 126 (the shell's own) and avoid 168, 169 and 194, which
//! the SSM agent and Image Builder treat as "skip the rest" and "reboot".

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing that fails the run was found.
    Clean,
    /// Something that fails the run was found.
    Findings,
    /// Usage or configuration error, or the scan could not run.
    Error,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Findings => 1,
            Outcome::Error => 2,
        }
    }
}

impl From<Outcome> for std::process::ExitCode {
    fn from(o: Outcome) -> Self {
        std::process::ExitCode::from(o.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_avoid_what_ssm_and_image_builder_reserve() {
        for o in [Outcome::Clean, Outcome::Findings, Outcome::Error] {
            let c = o.code();
            assert!(c < 126 && ![168, 169, 194].contains(&c));
        }
    }
}
