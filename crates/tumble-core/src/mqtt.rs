//! What a washer says on an MQTT broker, whichever platform connects it: its topics, the
//! payloads of its events, and Home Assistant's discovery configs (one device per washer, an
//! entity per sensor, output and button). The host (`tumble serve --mqtt`) and the chip publish
//! the same bytes; neither holds a copy of these rules. See docs/mqtt.md.
//!
//! No I/O: every payload is written into a `fmt::Write` with the core's JSON writer.

use core::fmt::{self, Write};

use crate::board::Board;
use crate::json::{Object, Text};
use crate::logline::Named;
use crate::runner::Notice;

/// A washer's names on the broker.
#[derive(Debug, Clone, Copy)]
pub struct Washer<'a> {
    /// Its id: the second topic level, the MQTT client id, the Home Assistant device.
    pub id: &'a str,
    /// The first topic level (`tumble`).
    pub prefix: &'a str,
    /// Home Assistant's discovery prefix (`homeassistant`); "" turns discovery off.
    pub discovery: &'a str,
    /// Whether it takes commands on `PREFIX/ID/command` (then the buttons are announced).
    pub commands: bool,
    /// The controller's version, for the device registry.
    pub version: &'a str,
}

/// Why a washer's id or prefix cannot be a topic level.
pub const BAD_LEVEL: &str = "one topic level each (not empty, no '/', '+' or '#')";

/// Whether `s` can be one topic level: not empty, no `/`, `+` or `#`.
pub fn is_level(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '+', '#'])
}

impl Washer<'_> {
    /// `PREFIX/ID/leaf` (`availability`, `state`, `events`, `command`, `reply`, `program`,
    /// `program/set`).
    pub fn write_topic<W: Write + ?Sized>(&self, w: &mut W, leaf: &str) -> fmt::Result {
        write!(w, "{}/{}/{leaf}", self.prefix, self.id)
    }

    /// The discovery topic of `entity`: `DISCOVERY/COMPONENT/ID/OBJECT/config`.
    pub fn write_discovery_topic<W: Write + ?Sized>(
        &self,
        w: &mut W,
        entity: &Entity<'_>,
    ) -> fmt::Result {
        write!(
            w,
            "{}/{}/{}/{}/config",
            self.discovery,
            entity.component(),
            self.id,
            entity.object()
        )
    }

    /// The config Home Assistant reads for `entity`.
    pub fn write_config(&self, w: &mut impl Write, entity: &Entity<'_>) -> fmt::Result {
        let mut o = Object::open(w)?;
        self.write_common(&mut o, entity.object(), entity.name())?;
        match *entity {
            Entity::Sensor(s) => {
                self.state(&mut o, s.template)?;
                for (key, value) in s.extra {
                    o.field(key, *value)?;
                }
            }
            Entity::Output { index, .. } => {
                let template =
                    format_args!("{{{{ 'ON' if value_json.gpio[{index}].on else 'OFF' }}}}");
                self.state(&mut o, Text(template))?;
            }
            Entity::Button(b) => {
                o.field("command_topic", Topic(self, "command"))?
                    .field("payload_press", b.payload)?;
            }
        }
        o.close()
    }

    /// Home Assistant's select of the library's programs, `names` its options (at least one:
    /// with none, publish an empty config, which removes it).
    pub fn write_program_select<'n>(
        &self,
        w: &mut impl Write,
        names: impl Iterator<Item = &'n str>,
    ) -> fmt::Result {
        let mut o = Object::open(w)?;
        self.write_common(&mut o, "program", Text("Program"))?;
        let mut options = o.array("options")?;
        for name in names {
            options.item(name)?;
        }
        options.close()?;
        o.field("state_topic", Topic(self, "program"))?
            .field("command_topic", Topic(self, "program/set"))?;
        o.close()
    }

    /// `DISCOVERY/select/ID/program/config`.
    pub fn write_program_select_topic<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        write!(w, "{}/select/{}/program/config", self.discovery, self.id)
    }

    fn write_common<W: Write>(
        &self,
        o: &mut Object<W>,
        object: impl fmt::Display,
        name: impl crate::json::Value,
    ) -> fmt::Result {
        let id = self.id;
        o.field("name", name)?
            .field("unique_id", Text(format_args!("tumble_{id}_{object}")))?
            .field("object_id", Text(format_args!("{id}_{object}")))?
            .field("availability_topic", Topic(self, "availability"))?;
        let mut device = o.object("device")?;
        device.field(
            "identifiers",
            [Text(format_args!("tumble_{id}"))].as_slice(),
        )?;
        device
            .field("name", Text(format_args!("Washer {id}")))?
            .field("manufacturer", "Tumble")?
            .field("model", "washer controller")?
            .field("sw_version", self.version)?;
        device.close()
    }

    fn state<W: Write>(&self, o: &mut Object<W>, template: impl crate::json::Value) -> fmt::Result {
        o.field("state_topic", Topic(self, "state"))?
            .field("value_template", template)?;
        Ok(())
    }

    /// Every discovery entity of this washer on `board`: the sensors, a binary sensor per
    /// output, and the buttons when it takes commands.
    pub fn entities<'b>(&self, board: &'b Board) -> impl Iterator<Item = Entity<'b>> + use<'b> {
        let buttons: &[Button] = if self.commands { &BUTTONS } else { &[] };
        let outputs = board
            .outputs()
            .enumerate()
            .map(|(index, (_, def))| Entity::Output {
                index,
                pin: def.pin,
                name: def.name.as_str(),
            });
        SENSORS
            .iter()
            .map(|s| Entity::Sensor(*s))
            .chain(outputs)
            .chain(buttons.iter().map(|b| Entity::Button(*b)))
    }
}

/// `PREFIX/ID/leaf` as a JSON string.
struct Topic<'a, 'w>(&'a Washer<'w>, &'a str);

impl crate::json::Value for Topic<'_, '_> {
    fn write_json<W: Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        let Topic(washer, leaf) = self;
        let topic = format_args!("{}/{}/{leaf}", washer.prefix, washer.id);
        Text(topic).write_json(w)
    }
}

/// One thing Home Assistant shows of a washer.
#[derive(Debug, Clone, Copy)]
pub enum Entity<'b> {
    /// A reading of the state (status, phase, time left, water, drum, fault).
    Sensor(Sensor),
    /// An output, ON or OFF.
    Output {
        /// Its place in the board's list (and in the state's `gpio`).
        index: usize,
        /// Its pin, which names the entity (`output_19`).
        pin: u8,
        /// Its board name.
        name: &'b str,
    },
    /// A command to press (start, pause, resume, skip, stop).
    Button(Button),
}

impl Entity<'_> {
    /// Home Assistant's component: `sensor`, `binary_sensor` or `button`.
    pub fn component(&self) -> &'static str {
        match self {
            Entity::Sensor(_) => "sensor",
            Entity::Output { .. } => "binary_sensor",
            Entity::Button(_) => "button",
        }
    }

    /// Its object id within the washer (`status`, `output_19`, `start`).
    pub fn object(&self) -> ObjectId {
        match *self {
            Entity::Sensor(s) => ObjectId::Named(s.object),
            Entity::Output { pin, .. } => ObjectId::Output(pin),
            Entity::Button(b) => ObjectId::Named(b.object),
        }
    }

    fn name(&self) -> &str {
        match *self {
            Entity::Sensor(s) => s.name,
            Entity::Output { name, .. } => name,
            Entity::Button(b) => b.name,
        }
    }
}

/// An entity's object id: a name, or an output's pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectId {
    /// `status`, `start`, ...
    Named(&'static str),
    /// `output_PIN`.
    Output(u8),
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectId::Named(s) => f.write_str(s),
            ObjectId::Output(pin) => write!(f, "output_{pin}"),
        }
    }
}

/// A sensor read from the state with a template.
#[derive(Debug, Clone, Copy)]
pub struct Sensor {
    object: &'static str,
    name: &'static str,
    template: &'static str,
    extra: &'static [(&'static str, &'static str)],
}

/// A button: a v2 command published to the command topic.
#[derive(Debug, Clone, Copy)]
pub struct Button {
    object: &'static str,
    name: &'static str,
    payload: &'static str,
}

const SENSORS: [Sensor; 6] = [
    Sensor {
        object: "status",
        name: "Status",
        template: "{{ value_json.cycle.status }}",
        extra: &[],
    },
    Sensor {
        object: "phase",
        name: "Phase",
        template: "{{ value_json.cycle.current_phase_title or 'none' }}",
        extra: &[],
    },
    Sensor {
        object: "time_left",
        name: "Time left",
        template: "{{ ((value_json.cycle.cycle_total_duration_ms - value_json.cycle.cycle_elapsed_ms) / 1000) | round(0) if value_json.cycle.cycle_running else 0 }}",
        extra: &[("unit_of_measurement", "s"), ("device_class", "duration")],
    },
    Sensor {
        object: "water",
        name: "Water level",
        template: "{{ value_json.sensors.level_litres }}",
        extra: &[
            ("unit_of_measurement", "L"),
            ("device_class", "volume_storage"),
            ("state_class", "measurement"),
        ],
    },
    Sensor {
        object: "drum",
        name: "Drum speed",
        template: "{{ value_json.sensors.rpm | round(0) }}",
        extra: &[
            ("unit_of_measurement", "rpm"),
            ("state_class", "measurement"),
        ],
    },
    Sensor {
        object: "fault",
        name: "Fault",
        template: "{{ value_json.cycle.fault.message if value_json.cycle.fault else 'none' }}",
        extra: &[],
    },
];

const BUTTONS: [Button; 5] = [
    Button {
        object: "start",
        name: "Start",
        payload: r#"{"cmd":"start"}"#,
    },
    Button {
        object: "pause",
        name: "Pause",
        payload: r#"{"cmd":"pause"}"#,
    },
    Button {
        object: "resume",
        name: "Resume",
        payload: r#"{"cmd":"resume"}"#,
    },
    Button {
        object: "skip",
        name: "Skip phase",
        payload: r#"{"cmd":"skip_phase"}"#,
    },
    Button {
        object: "stop",
        name: "Stop",
        payload: r#"{"cmd":"stop"}"#,
    },
];

/// A notice as the payload of `PREFIX/ID/events`: `{"event":"phase_ended","phase":0,
/// "name":"Fill","end":"triggered","at_ms":1234}`.
pub fn write_event(w: &mut impl Write, n: &Named) -> fmt::Result {
    let mut o = Object::open(w)?;
    match n.notice() {
        Notice::PhaseStarted { at, phase } => o
            .field("event", "phase_started")?
            .field("phase", phase)?
            .field("name", n.label())?
            .field("at_ms", at.as_millis())?,
        Notice::PhaseEnded { at, phase, end } => o
            .field("event", "phase_ended")?
            .field("phase", phase)?
            .field("name", n.label())?
            .field("end", end.word())?
            .field("at_ms", at.as_millis())?,
        Notice::CycleEnded { at, completed } => o
            .field("event", "cycle_ended")?
            .field("completed", completed)?
            .field("at_ms", at.as_millis())?,
    };
    o.close()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn washer(commands: bool) -> Washer<'static> {
        Washer {
            id: "w1",
            prefix: "tumble",
            discovery: "homeassistant",
            commands,
            version: "0.1.0",
        }
    }

    #[test]
    fn every_entity_has_what_home_assistant_requires_and_buttons_only_with_commands() {
        let board = Board::washer();
        for commands in [false, true] {
            let w = washer(commands);
            let mut buttons = 0;
            for e in w.entities(&board) {
                let (mut topic, mut config) = (String::new(), String::new());
                w.write_discovery_topic(&mut topic, &e).unwrap();
                w.write_config(&mut config, &e).unwrap();
                let v: serde_json::Value = serde_json::from_str(&config).unwrap();
                assert!(topic.starts_with("homeassistant/") && topic.ends_with("/config"));
                assert_eq!(v["availability_topic"], "tumble/w1/availability");
                assert_eq!(v["device"]["identifiers"][0], "tumble_w1");
                assert!(v["unique_id"].as_str().unwrap().starts_with("tumble_w1_"));
                match e {
                    Entity::Button(_) => {
                        buttons += 1;
                        assert_eq!(v["command_topic"], "tumble/w1/command");
                        let press: serde_json::Value =
                            serde_json::from_str(v["payload_press"].as_str().unwrap()).unwrap();
                        assert!(press["cmd"].is_string());
                    }
                    _ => {
                        assert_eq!(v["state_topic"], "tumble/w1/state");
                        assert!(v["value_template"].as_str().unwrap().starts_with("{{"));
                    }
                }
            }
            assert_eq!(buttons, if commands { 5 } else { 0 });
        }
        let mut select = String::new();
        washer(true)
            .write_program_select(&mut select, ["Cotton 60", "Quick \"15\""].into_iter())
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&select).unwrap();
        assert_eq!(v["options"][1], "Quick \"15\"");
        assert_eq!(v["command_topic"], "tumble/w1/program/set");
    }
}
