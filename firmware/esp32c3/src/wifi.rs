//! The Wi-Fi station under the web server (`net.rs`). Wi-Fi is optional at run time: a radio
//! that does not start, a network that does not answer or missing credentials leave the
//! controller and the console running, and the connection task keeps retrying with backoff,
//! forever.

use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_net::Runner as NetRunner;
use embassy_time::Timer;
use esp_hal::peripherals::WIFI;
use esp_radio::wifi::sta::StationConfig;
use esp_radio::wifi::{
    AuthenticationMethodConfig, Config, ControllerConfig, Interface, WifiController,
};

use crate::config::{WIFI_BACKOFF_MAX, WIFI_BACKOFF_MIN};
use crate::log::{info, warning};
use crate::net;
use crate::shared::Shared;
use crate::wifi_settings;

/// Fewer Wi-Fi buffers than esp-radio's defaults (10 static RX, 32 dynamic RX and TX), to fit
/// `WIFI_HEAP`: a controller exchanges small frames with a handful of clients.
fn controller_config() -> ControllerConfig {
    ControllerConfig::default()
        .with_static_rx_buf_num(6)
        .with_dynamic_rx_buf_num(16)
        .with_dynamic_tx_buf_num(16)
        .with_rx_ba_win(4)
}

pub fn start(spawner: &Spawner, wifi: WIFI<'static>, shared: &'static Shared) {
    let (stack, runner) = net::stack(Interface::station());
    spawner.spawn(connection(wifi).unwrap());
    spawner.spawn(net_task(runner).unwrap());
    net::start(spawner, stack, shared);
}

/// Starts the radio, joins the network, and rejoins it forever with backoff. New credentials
/// from the console reconnect at once.
#[embassy_executor::task]
async fn connection(mut wifi: WIFI<'static>) {
    let mut backoff = WIFI_BACKOFF_MIN;
    loop {
        let mut controller = match WifiController::new(wifi.reborrow(), controller_config()) {
            Ok(c) => c,
            Err(e) => {
                warning!(
                    "wifi",
                    "radio did not start ({e:?}); retry in {} s",
                    backoff.as_secs()
                );
                Timer::after(backoff).await;
                backoff = (backoff * 2).min(WIFI_BACKOFF_MAX);
                continue;
            }
        };
        loop {
            let Some(creds) = wifi_settings::current() else {
                // Nothing to join until the console sets a network.
                wifi_settings::CHANGED.wait().await;
                continue;
            };
            let auth = if creds.password.is_empty() {
                Ok(AuthenticationMethodConfig::Open)
            } else {
                creds
                    .password
                    .as_str()
                    .try_into()
                    .map(AuthenticationMethodConfig::Wpa2Personal)
            };
            let config = match (creds.ssid.as_str().try_into(), auth) {
                (Ok(ssid), Ok(auth)) => Config::Station(
                    StationConfig::default()
                        .with_ssid(ssid)
                        .with_authentication(auth),
                ),
                _ => {
                    warning!("wifi", "credentials for \"{}\" are not usable", creds.ssid);
                    wifi_settings::CHANGED.wait().await;
                    continue;
                }
            };
            if let Err(e) = controller.set_config(&config) {
                warning!(
                    "wifi",
                    "cannot configure the station: {e:?}; retry in {} s",
                    backoff.as_secs()
                );
                Timer::after(backoff).await;
                backoff = (backoff * 2).min(WIFI_BACKOFF_MAX);
                continue;
            }
            info!("wifi", "joining \"{}\"", creds.ssid);
            match select(controller.connect_async(), wifi_settings::CHANGED.wait()).await {
                Either::First(Ok(_)) => {
                    info!("wifi", "connected to \"{}\"", creds.ssid);
                    backoff = WIFI_BACKOFF_MIN;
                    match select(
                        controller.wait_for_disconnect_async(),
                        wifi_settings::CHANGED.wait(),
                    )
                    .await
                    {
                        Either::First(r) => {
                            warning!("wifi", "disconnected ({:?})", r.map(|i| i.reason))
                        }
                        Either::Second(()) => {
                            info!("wifi", "new credentials: leaving \"{}\"", creds.ssid);
                            let _ = controller.disconnect_async().await;
                            continue;
                        }
                    }
                }
                Either::First(Err(e)) => {
                    warning!(
                        "wifi",
                        "cannot join \"{}\" ({e:?}); retry in {} s",
                        creds.ssid,
                        backoff.as_secs()
                    );
                    if let Either::Second(()) =
                        select(Timer::after(backoff), wifi_settings::CHANGED.wait()).await
                    {
                        backoff = WIFI_BACKOFF_MIN;
                        continue;
                    }
                    backoff = (backoff * 2).min(WIFI_BACKOFF_MAX);
                }
                Either::Second(()) => {
                    let _ = controller.disconnect_async().await;
                    backoff = WIFI_BACKOFF_MIN;
                }
            }
        }
    }
}

#[embassy_executor::task]
async fn net_task(mut runner: NetRunner<'static, Interface>) -> ! {
    runner.run().await
}
