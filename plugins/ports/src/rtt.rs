//! Adaptive probe timeouts from measured round trips, as nmap and TCP itself do (RFC 6298):
//! a smoothed round trip and its variation, the timeout being `srtt + 4 * rttvar`, kept
//! between a floor and a ceiling. Before the first answer the initial timeout applies.

use std::sync::Mutex;
use std::time::Duration;

/// The timeout bounds of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Used until the first answer arrives.
    pub initial: Duration,
    /// Never wait less than this.
    pub floor: Duration,
    /// Never wait more than this.
    pub ceiling: Duration,
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    srtt_us: f64,
    rttvar_us: f64,
    samples: u64,
}

/// One host's round-trip estimate; shared by every probe to that host.
#[derive(Debug)]
pub struct Estimator {
    bounds: Bounds,
    state: Mutex<State>,
}

impl Estimator {
    /// An estimator with no samples yet.
    pub fn new(bounds: Bounds) -> Self {
        Estimator {
            bounds,
            state: Mutex::new(State::default()),
        }
    }

    /// Records the time an answer (SYN-ACK or RST) took.
    pub fn sample(&self, rtt: Duration) {
        let r = rtt.as_secs_f64() * 1e6;
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.samples == 0 {
            s.srtt_us = r;
            s.rttvar_us = r / 2.0;
        } else {
            s.rttvar_us = 0.75 * s.rttvar_us + 0.25 * (s.srtt_us - r).abs();
            s.srtt_us = 0.875 * s.srtt_us + 0.125 * r;
        }
        s.samples += 1;
    }

    /// How long a probe sent now should wait for its answer.
    pub fn timeout(&self) -> Duration {
        let s = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.samples == 0 {
            return self.bounds.initial;
        }
        let t = Duration::from_secs_f64((s.srtt_us + 4.0 * s.rttvar_us) / 1e6);
        t.clamp(self.bounds.floor, self.bounds.ceiling)
    }

    /// The smoothed round trip, once something answered.
    pub fn srtt(&self) -> Option<Duration> {
        let s = *self.state.lock().unwrap_or_else(|p| p.into_inner());
        (s.samples > 0).then(|| Duration::from_secs_f64(s.srtt_us / 1e6))
    }

    /// How many answers were measured.
    pub fn samples(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bounds = Bounds {
        initial: Duration::from_secs(1),
        floor: Duration::from_millis(100),
        ceiling: Duration::from_secs(3),
    };

    #[test]
    fn initial_until_the_first_answer_then_measured_within_bounds() {
        let e = Estimator::new(B);
        assert_eq!(e.timeout(), B.initial);
        assert_eq!(e.srtt(), None);
        for _ in 0..50 {
            e.sample(Duration::from_micros(200));
        }
        assert_eq!(e.timeout(), B.floor, "a fast host is held at the floor");
        assert!(e.srtt().expect("srtt") < Duration::from_millis(1));

        let slow = Estimator::new(B);
        for _ in 0..20 {
            slow.sample(Duration::from_millis(400));
        }
        let t = slow.timeout();
        assert!(
            t > Duration::from_millis(400) && t < Duration::from_millis(700),
            "{t:?}"
        );

        let awful = Estimator::new(B);
        awful.sample(Duration::from_secs(10));
        assert_eq!(awful.timeout(), B.ceiling);
    }

    #[test]
    fn variation_widens_the_timeout() {
        let steady = Estimator::new(B);
        let jittery = Estimator::new(B);
        for i in 0..40u64 {
            steady.sample(Duration::from_millis(200));
            jittery.sample(Duration::from_millis(if i % 2 == 0 { 100 } else { 300 }));
        }
        assert!(jittery.timeout() > steady.timeout());
        assert_eq!(steady.samples(), 40);
    }
}
