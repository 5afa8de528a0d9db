//! The stored cycle and Wi-Fi credentials: tumble-core records (magic, version, length,
//! CRC-32) in sequential-storage queues on the `tumble` data partition; the run history in a
//! queue of its own on the `history` partition, and the program library in a map on the
//! `programs` partition (`tumble_fw_logic::programs`). sequential-storage writes power-fail
//! safely; the record's CRC catches anything else. The newest valid record of a kind wins;
//! older ones are erased as the queue wraps.
//!
//! Flash is touched only by a task holding the loader, and only when no cycle runs
//! (`Shared::idle`): erasing
//! and writing stall the CPU's flash cache and interrupts (esp-storage runs each ROM flash call
//! in a critical section), which would delay the runner's events by milliseconds.

use core::ops::Range;

use embedded_storage::nor_flash as blocking;
use embedded_storage_async::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use esp_bootloader_esp_idf::partitions::{self, PARTITION_TABLE_MAX_LEN};
use esp_storage::{FlashStorage, FlashStorageError};
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::queue::{QueueConfig, QueueStorage};
use tumble_fw_logic::programs::FlashLibrary;
use tumble_fw_logic::record::{self, Kind};

use crate::config::{FRAME_MAX, HEADROOM, HISTORY_LABEL, PARTITION_LABEL, PROGRAMS_LABEL};

/// The erase unit sequential-storage sees: two 4 KiB sectors, so that one record (at most
/// `FRAME_MAX` + its 16-byte header) fits in a page, as a queue item must.
pub const PAGE: usize = 8 * 1024;
/// Pages for the credentials; the cycles get the rest of the partition.
const CREDENTIAL_PAGES: u32 = 2;
/// Smallest partition: two pages per queue.
const MIN_PAGES: u32 = CREDENTIAL_PAGES + 2;

const _: () = assert!(
    HEADROOM + FRAME_MAX + 64 <= PAGE,
    "a record must fit in a page"
);

pub type Error = sequential_storage::Error<FlashStorageError>;

type Queue<'a> = QueueStorage<&'a mut Paged, Cache<Uncached, Uncached, Uncached, ()>>;

/// esp-storage's blocking flash with larger pages, as the async traits sequential-storage uses.
pub struct Paged(FlashStorage<'static>);

impl ErrorType for Paged {
    type Error = FlashStorageError;
}

impl ReadNorFlash for Paged {
    const READ_SIZE: usize = FlashStorage::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        blocking::ReadNorFlash::read(&mut self.0, offset, bytes)
    }

    fn capacity(&self) -> usize {
        blocking::ReadNorFlash::capacity(&self.0)
    }
}

impl NorFlash for Paged {
    const WRITE_SIZE: usize = FlashStorage::WRITE_SIZE;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        blocking::NorFlash::erase(&mut self.0, from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        blocking::NorFlash::write(&mut self.0, offset, bytes)
    }
}

// esp-storage's flash allows rewriting a word with fewer 1 bits, as NOR flash does.
impl MultiwriteNorFlash for Paged {}

pub struct Store {
    flash: Paged,
    cycles: Range<u32>,
    credentials: Range<u32>,
    /// The program library's partition, when the flash has one.
    programs: Option<Range<u32>>,
    /// The run history's partition, when the flash has one.
    history: Option<Range<u32>>,
}

impl Store {
    /// Finds the `tumble` data partition (see partitions.csv).
    pub fn open(flash: esp_hal::peripherals::FLASH<'static>) -> Result<Store, &'static str> {
        let mut flash = FlashStorage::new(flash);
        let mut table = [0u8; PARTITION_TABLE_MAX_LEN];
        let table = partitions::read_partition_table(&mut flash, &mut table)
            .map_err(|_| "cannot read the partition table")?;
        let part = table
            .iter()
            .find(|p| p.label_as_str() == PARTITION_LABEL)
            .ok_or("no \"tumble\" data partition (flash with partitions.csv)")?;
        let page = PAGE as u32;
        let (start, len) = (part.offset(), part.len());
        if start % page != 0 || len < MIN_PAGES * page {
            return Err("the \"tumble\" partition must be 8 KiB aligned and at least 32 KiB");
        }
        let end = start + len / page * page;
        let split = end - CREDENTIAL_PAGES * page;
        let pages = |label: &str| {
            table
                .iter()
                .find(|p| p.label_as_str() == label)
                .map(|p| p.offset()..p.offset() + p.len() / page * page)
                .filter(|r| r.start % page == 0 && r.len() >= 2 * PAGE)
        };
        Ok(Store {
            flash: Paged(flash),
            cycles: start..split,
            credentials: split..end,
            programs: pages(PROGRAMS_LABEL),
            history: pages(HISTORY_LABEL),
        })
    }

    /// The run history's partition, for the boot log.
    pub fn history(&self) -> Option<Range<u32>> {
        self.history.clone()
    }

    /// Appends a sealed run record to the history; the oldest runs are erased to make room.
    /// False when the flash has no `history` partition.
    pub fn save_run(&mut self, record: &[u8]) -> Result<bool, Error> {
        if self.history.is_none() {
            return Ok(false);
        }
        embassy_futures::block_on(self.queue(Kind::Run).push(record, true)).map(|()| true)
    }

    /// The runs in the history, oldest first: `each` gets the JSON of every valid one, read into
    /// `buf` (a record larger than `buf` ends the walk). Blocking, as `save`.
    pub fn runs(&mut self, buf: &mut [u8], each: &mut dyn FnMut(&[u8])) -> Result<(), Error> {
        if self.history.is_none() {
            return Ok(());
        }
        let mut q = self.queue(Kind::Run);
        embassy_futures::block_on(async {
            let mut it = q.iter().await?;
            while let Some(entry) = it.next(&mut *buf).await? {
                if let Ok(r) = record::decode(&entry)
                    && r.kind == Kind::Run
                {
                    each(r.payload);
                }
            }
            Ok(())
        })
    }

    /// The program library, working in `buf` (a program is at most what `buf` holds, less
    /// its name and the item's header); None when the flash has no `programs` partition.
    pub fn library<'b>(&mut self, buf: &'b mut [u8]) -> Option<FlashLibrary<'b, &mut Paged>> {
        let range = self.programs.clone()?;
        FlashLibrary::new(&mut self.flash, range, buf)
    }

    /// The program library's partition, for the boot log.
    pub fn programs(&self) -> Option<Range<u32>> {
        self.programs.clone()
    }

    pub fn range(&self) -> Range<u32> {
        self.cycles.start..self.credentials.end
    }

    /// The queue of a kind's records. Runs have a partition of their own (`save_run`); where
    /// there is none, a run would be asked for here only by a bug, and finds the cycles'.
    fn queue(&mut self, kind: Kind) -> Queue<'_> {
        let range = match kind {
            Kind::Cycle => self.cycles.clone(),
            // The settings: few, small, written by a person now and then.
            Kind::Credentials | Kind::Token | Kind::Mqtt => self.credentials.clone(),
            Kind::Run => self.history.clone().unwrap_or(self.cycles.clone()),
        };
        QueueStorage::new(
            &mut self.flash,
            QueueConfig::new(range),
            Cache::new_uncached(),
        )
    }

    /// Appends a sealed record (see `tumble_fw_logic::record`); the oldest are erased to make room.
    ///
    /// Blocking: the flash is, and sequential-storage's future therefore completes in one poll.
    /// Driving it here keeps that large future on the stack of the one call instead of inside
    /// every task that may store something.
    pub fn save(&mut self, kind: Kind, record: &[u8]) -> Result<(), Error> {
        embassy_futures::block_on(self.queue(kind).push(record, true))
    }

    /// Appends a settings record (the credentials, the token and the MQTT broker share a
    /// queue) and keeps the newest record of the other kinds: if making room erased one, it is
    /// written again, so a hundred Wi-Fi changes never lose the token, nor token rotations the
    /// credentials.
    pub fn save_setting(&mut self, kind: Kind, record: &[u8]) -> Result<(), Error> {
        const SETTINGS: [Kind; 3] = [Kind::Credentials, Kind::Token, Kind::Mqtt];
        let mut buf = [0u8; 512];
        // Every setting's record is under 256 bytes (the longest, MQTT's, 180).
        let mut kept = [(Kind::Token, [0u8; 256], None); 2];
        for (slot, other) in kept.iter_mut().zip(SETTINGS.iter().filter(|&&k| k != kind)) {
            slot.0 = *other;
            slot.2 = match self.newest(*other, &mut buf)? {
                (Some(payload), _) => record::encode(*other, payload, &mut slot.1).ok(),
                (None, _) => None,
            };
        }
        self.save(kind, record)?;
        for (other, rec, len) in &kept {
            if let Some(n) = *len
                && self.newest(*other, &mut buf)?.0.is_none()
            {
                self.save(*other, &rec[..n])?;
            }
        }
        Ok(())
    }

    /// The payload of the newest valid record of `kind`, read into `buf`. Corrupt records are
    /// skipped and counted in the second value. Blocking, as `save`.
    pub fn newest<'b>(
        &mut self,
        kind: Kind,
        buf: &'b mut [u8],
    ) -> Result<(Option<&'b [u8]>, u32), Error> {
        embassy_futures::block_on(self.find_newest(kind, buf))
    }

    async fn find_newest<'b>(
        &mut self,
        kind: Kind,
        buf: &'b mut [u8],
    ) -> Result<(Option<&'b [u8]>, u32), Error> {
        let mut q = self.queue(kind);
        let mut best = None;
        let mut corrupt = 0;
        {
            let mut it = q.iter().await?;
            let mut i = 0usize;
            while let Some(entry) = it.next(&mut *buf).await? {
                match record::decode(&entry) {
                    Ok(r) if r.kind == kind => best = Some(i),
                    Ok(_) => {}
                    Err(_) => corrupt += 1,
                }
                i += 1;
            }
        }
        let Some(best) = best else {
            return Ok((None, corrupt));
        };
        let mut it = q.iter().await?;
        for _ in 0..best {
            if it.next(&mut *buf).await?.is_none() {
                return Ok((None, corrupt));
            }
        }
        let Some(entry) = it.next(buf).await? else {
            return Ok((None, corrupt));
        };
        let data: &'b [u8] = entry.into_buf();
        Ok((record::decode(data).ok().map(|r| r.payload), corrupt))
    }
}
