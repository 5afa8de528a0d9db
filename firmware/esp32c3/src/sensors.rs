//! The sensors behind tumble-core's `Sensors` trait, as the host simulator implements it:
//! drum RPM from the tachometer's rising edges (timestamped in the GPIO interrupt, debounced by
//! `RpmMeter`), water level from the HX710 ADC. The ADC is clocked out by a thread-mode task of
//! its own (25 bit-banged pulses, tens of µs), never by the control loop, which only copies the
//! latest average when it samples.

use core::cell::{Cell, RefCell};

use critical_section::Mutex;
use embassy_time::{Duration, Timer};
use esp_hal::delay::Delay;
use esp_hal::gpio::{AnyPin, Event, Input, InputConfig, Io, Level, Output, OutputConfig, Pull};
use esp_hal::handler;
use esp_hal::interrupt::Priority;
use esp_hal::ram;
use tumble_core::board::{Readings, Sensors};
use tumble_core::sensor::{PressureCurve, RpmMeter};
use tumble_core::time::{self, Instant};

use crate::clock::now;
use crate::config::{PRESSURE_AVERAGE, PRESSURE_STALE_US, PULSES_PER_REV};
use crate::log::warning;

static PULSE_PIN: Mutex<RefCell<Option<Input<'static>>>> = Mutex::new(RefCell::new(None));
static RPM: Mutex<RefCell<Option<RpmMeter>>> = Mutex::new(RefCell::new(None));
/// A pressure value older than this is no value.
const STALE: time::Duration = time::Duration::from_micros(PRESSURE_STALE_US);

/// One handler serves every GPIO interrupt; it takes the tachometer's edges. In RAM, and above
/// the control loop's priority, so an edge is timestamped when it happens.
#[handler(priority = Priority::Priority4)]
#[ram]
fn gpio_interrupt() {
    let now = now();
    critical_section::with(|cs| {
        if let Some(pin) = PULSE_PIN.borrow_ref_mut(cs).as_mut()
            && pin.is_interrupt_set()
        {
            pin.clear_interrupt();
            if let Some(meter) = RPM.borrow_ref_mut(cs).as_mut() {
                meter.pulse(now);
            }
        }
    });
}

/// Starts timestamping the tachometer's rising edges on `pin`.
pub fn start_rpm(io: &mut Io<'static>, pin: AnyPin<'static>) {
    io.set_interrupt_handler(gpio_interrupt);
    let mut input = Input::new(pin, InputConfig::default().with_pull(Pull::Up));
    critical_section::with(|cs| {
        RPM.borrow_ref_mut(cs)
            .replace(RpmMeter::new(PULSES_PER_REV));
        input.listen(Event::RisingEdge);
        PULSE_PIN.borrow_ref_mut(cs).replace(input);
    });
}

/// The HX710 (or HX711) 24-bit ADC on two GPIOs. DOUT low means a conversion is ready; the
/// reading is clocked out only then, so a missing ADC never blocks anything: its value just
/// goes stale and reads as a sensor error.
pub struct Hx710 {
    sck: Output<'static>,
    dout: Input<'static>,
    delay: Delay,
    /// The latest raw samples, newest last, and when the newest was read.
    samples: heapless::Deque<i32, PRESSURE_AVERAGE>,
    last_at: Option<Instant>,
    warned: bool,
}

impl Hx710 {
    pub fn new(sck: AnyPin<'static>, dout: AnyPin<'static>) -> Self {
        // SCK low keeps the ADC powered; held high for more than 60 us it powers down.
        let sck = Output::new(sck, Level::Low, OutputConfig::default());
        // Pulled up: an absent ADC reads "not ready" forever.
        let dout = Input::new(dout, InputConfig::default().with_pull(Pull::Up));
        Hx710 {
            sck,
            dout,
            delay: Delay::new(),
            samples: heapless::Deque::new(),
            last_at: None,
            warned: false,
        }
    }

    /// 24 bits, MSB first, then one more clock: channel A at gain 128 on an HX711, 10 Hz
    /// differential on an HX710B. Each clock pulse is a critical section of about 1 us, so no
    /// interrupt can stretch SCK high past the ADC's 50 us limit.
    fn clock_out(&mut self) -> i32 {
        let mut raw: u32 = 0;
        for _ in 0..24 {
            let bit = critical_section::with(|_| {
                self.sck.set_high();
                self.delay.delay_nanos(1_000);
                let bit = self.dout.is_high();
                self.sck.set_low();
                bit
            });
            raw = raw << 1 | bit as u32;
            self.delay.delay_nanos(1_000);
        }
        critical_section::with(|_| {
            self.sck.set_high();
            self.delay.delay_nanos(1_000);
            self.sck.set_low();
        });
        // Two's complement, 24 bits.
        ((raw << 8) as i32) >> 8
    }

    /// Reads a conversion if one is ready; returns the averaged raw value and when its newest
    /// sample was read, if that is recent.
    fn poll(&mut self, now: Instant) -> Option<(f32, Instant)> {
        if self.dout.is_low() {
            let v = self.clock_out();
            if self.samples.is_full() {
                self.samples.pop_front();
            }
            let _ = self.samples.push_back(v);
            self.last_at = Some(now);
            self.warned = false;
        }
        let fresh = self
            .last_at
            .is_some_and(|t| now.saturating_duration_since(t) <= STALE);
        if !fresh {
            // Not in the first moments after boot, before the ADC could have converted.
            if !self.warned && now >= Instant::from_micros(0) + STALE {
                self.warned = true;
                warning!(
                    "pressure",
                    "no data from the HX710 for {} ms: pressure reads as a sensor error",
                    STALE.as_millis()
                );
            }
            self.samples.clear();
            return None;
        }
        let n = self.samples.len().max(1) as f32;
        let average = self.samples.iter().map(|&v| v as f32).sum::<f32>() / n;
        Some((average, self.last_at.unwrap_or(now)))
    }
}

/// The HX710's latest average and when its newest sample was read.
static PRESSURE: Mutex<Cell<Option<(f32, Instant)>>> = Mutex::new(Cell::new(None));

/// Clocks the HX710 out whenever it has a conversion (10 Hz on an HX710B; polled every 5 ms so
/// a conversion waits at most that long), in thread mode: the control loop preempts it at any
/// bit but the 1 µs of each clock pulse.
#[embassy_executor::task]
pub async fn pressure(mut adc: Hx710) {
    loop {
        Timer::after(Duration::from_millis(5)).await;
        let latest = adc.poll(now());
        critical_section::with(|cs| PRESSURE.borrow(cs).set(latest));
    }
}

/// The board's sensors, read by the control loop every sample period: copies, no waiting.
pub struct BoardSensors {
    pub curve: PressureCurve,
}

impl Sensors for BoardSensors {
    fn read(&mut self, now: Instant) -> Readings {
        let (rpm, pressure) = critical_section::with(|cs| {
            let rpm = RPM.borrow_ref(cs).as_ref().map(|m| m.rpm(now));
            (rpm, PRESSURE.borrow(cs).get())
        });
        let fresh = |&(_, at): &(f32, Instant)| now.saturating_duration_since(at) <= STALE;
        let pressure_hz = pressure.filter(fresh).map(|(raw, _)| self.curve.hz(raw));
        Readings { rpm, pressure_hz }
    }
}
