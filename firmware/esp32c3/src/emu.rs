//! The link of the emulation build: the emulator's OpenCores Ethernet MAC (`open_eth.rs`) under
//! the web server (`net.rs`), configured by DHCP (QEMU's user network gives 10.0.2.15).

use embassy_executor::Spawner;
use embassy_net::Runner as NetRunner;

use crate::log::{info, warning};
use crate::net;
use crate::open_eth::{self, OpenEth};
use crate::shared::Shared;

pub fn start(spawner: &Spawner, shared: &'static Shared) {
    let mac = mac_address();
    let Some(eth) = OpenEth::new(mac) else {
        warning!(
            "eth",
            "no open_eth MAC (start QEMU with -nic user,model=open_eth): no network"
        );
        return;
    };
    let [a, b, c, d, e, f] = mac;
    info!(
        "eth",
        "open_eth MAC {a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}, asking for an address"
    );
    let (stack, runner) = net::stack(eth);
    spawner.spawn(open_eth::poll().unwrap());
    spawner.spawn(net_task(runner).unwrap());
    net::start(spawner, stack, shared);
}

/// The chip's base MAC with the locally administered bit, as the C3 derives its other
/// interfaces' addresses; a fixed one when the emulator's eFuses are blank.
fn mac_address() -> [u8; 6] {
    let mut mac = [0u8; 6];
    mac.copy_from_slice(esp_hal::efuse::base_mac_address().as_bytes());
    if mac == [0; 6] {
        mac = [0x02, 0, 0, 0, 0, 0x01];
    }
    mac[0] = (mac[0] | 0x02) & !0x01;
    mac
}

#[embassy_executor::task]
async fn net_task(mut runner: NetRunner<'static, OpenEth>) -> ! {
    runner.run().await
}
