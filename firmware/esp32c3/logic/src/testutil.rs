//! The firmware's own test helpers (register writes, NOR flash); the rest of the rig is
//! `tumble-rig`, which every layer's tests share.

use std::vec::Vec;

use crate::pins::GpioWrite;

/// Records every register write.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub writes: Vec<(u32, u32)>,
}

impl GpioWrite for Recorder {
    fn write(&mut self, set: u32, clear: u32) {
        self.writes.push((set, clear));
    }
}

/// NOR flash in RAM, for the flash stores' tests: writes can only clear bits, an erase sets a
/// page to 0xFF, and `cut_after` makes every write fail once that many bytes were written (a
/// power cut: what was written stays).
pub struct RamFlash {
    pub data: Vec<u8>,
    pub cut_after: Option<usize>,
    written: usize,
}

impl RamFlash {
    pub const PAGE: usize = 4096;

    pub fn new(pages: usize) -> Self {
        RamFlash {
            data: std::vec![0xFF; pages * Self::PAGE],
            cut_after: None,
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> usize {
        self.written
    }
}

#[derive(Debug)]
pub struct Cut;

impl embedded_storage_async::nor_flash::NorFlashError for Cut {
    fn kind(&self) -> embedded_storage_async::nor_flash::NorFlashErrorKind {
        embedded_storage_async::nor_flash::NorFlashErrorKind::Other
    }
}

impl embedded_storage_async::nor_flash::ErrorType for RamFlash {
    type Error = Cut;
}

impl embedded_storage_async::nor_flash::ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Cut> {
        let at = offset as usize;
        bytes.copy_from_slice(&self.data[at..at + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.data.len()
    }
}

impl embedded_storage_async::nor_flash::NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = Self::PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Cut> {
        if self.cut_after.is_some_and(|c| self.written >= c) {
            return Err(Cut);
        }
        self.data[from as usize..to as usize].fill(0xFF);
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Cut> {
        for (i, b) in bytes.iter().enumerate() {
            if self.cut_after.is_some_and(|c| self.written >= c) {
                return Err(Cut);
            }
            self.data[offset as usize + i] &= b;
            self.written += 1;
        }
        Ok(())
    }
}

impl embedded_storage_async::nor_flash::MultiwriteNorFlash for RamFlash {}
