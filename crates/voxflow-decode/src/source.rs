//! Input adapters (symphonia `MediaSource`s) and the [`Preloaded`] byte cache.

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use symphonia::core::io::MediaSource;

use crate::{Decoder, DecoderConfig, Error};

/// A `Read + Seek` reader made into a `MediaSource`. The `Mutex` only lends `Sync` (symphonia
/// requires it) to readers that are merely `Send`: it is never locked, every access goes through
/// `get_mut`.
pub(crate) struct SeekableReader<R> {
    inner: Mutex<R>,
    len: Option<u64>,
}

impl<R: Read + Seek + Send> SeekableReader<R> {
    pub(crate) fn new(mut r: R) -> Self {
        // Learn the length once; symphonia asks for it through `&self`.
        let len = (|| {
            let pos = r.stream_position()?;
            let end = r.seek(SeekFrom::End(0))?;
            r.seek(SeekFrom::Start(pos))?;
            Ok::<u64, io::Error>(end)
        })()
        .ok();
        SeekableReader {
            inner: Mutex::new(r),
            len,
        }
    }

    pub(crate) fn byte_len_hint(&self) -> Option<u64> {
        self.len
    }

    fn get(&mut self) -> &mut R {
        self.inner.get_mut().unwrap_or_else(|p| p.into_inner())
    }
}

impl<R: Read + Seek + Send> Read for SeekableReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.get().read(buf)
    }
}

impl<R: Read + Seek + Send> Seek for SeekableReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.get().seek(pos)
    }
}

impl<R: Read + Seek + Send> MediaSource for SeekableReader<R> {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        self.len
    }
}

/// A forward-only reader (a pipe, a socket, an HTTP body) made into a non-seekable
/// `MediaSource`, like symphonia's `ReadOnlySource` but without requiring `Sync`.
pub(crate) struct StreamReader<R> {
    inner: Mutex<R>,
}

impl<R: Read + Send> StreamReader<R> {
    pub(crate) fn new(r: R) -> Self {
        StreamReader {
            inner: Mutex::new(r),
        }
    }
}

impl<R: Read + Send> Read for StreamReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .read(buf)
    }
}

impl<R: Read + Send> Seek for StreamReader<R> {
    fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "stream input is not seekable",
        ))
    }
}

impl<R: Read + Send> MediaSource for StreamReader<R> {
    fn is_seekable(&self) -> bool {
        false
    }
    fn byte_len(&self) -> Option<u64> {
        None
    }
}

/// A cursor over shared bytes: many decoders read the same `Arc<[u8]>` without copying it.
pub(crate) type SharedBytes = Cursor<Arc<[u8]>>;

/// A whole file (or any byte buffer) held in memory once, from which any number of independent
/// [`Decoder`]s can be opened without copying or re-reading the bytes. Cloning a `Preloaded` is
/// cheap (an `Arc` clone).
///
/// ```
/// # fn main() -> Result<(), voxflow_decode::Error> {
/// use std::sync::Arc;
/// use voxflow_core::AudioSource;
/// use voxflow_decode::{DecoderConfig, Preloaded};
/// # let wav = voxflow_decode::testing::wav_bytes(voxflow_decode::testing::WavEncoding::S16, 8_000, 1, &[0.0; 800]);
/// let pre = Preloaded::from_bytes(Arc::from(wav), Some("wav"));
/// let a = pre.decoder(DecoderConfig::default())?;
/// let b = pre.decoder(DecoderConfig::default())?;
/// assert_eq!(a.format(), b.format());
/// assert!(Arc::ptr_eq(&pre.bytes(), &pre.clone().bytes()));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Preloaded {
    bytes: Arc<[u8]>,
    hint: Option<String>,
}

impl Preloaded {
    /// Reads the file at `path` into memory (one read), remembering its extension as the
    /// format hint.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes: Arc<[u8]> = Arc::from(std::fs::read(path)?);
        let hint = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
        Ok(Preloaded { bytes, hint })
    }

    /// Wraps bytes already in memory; `hint` is a file extension such as `"mp3"` (optional: the
    /// content is probed either way).
    pub fn from_bytes(bytes: Arc<[u8]>, hint: Option<&str>) -> Self {
        Preloaded {
            bytes,
            hint: hint.map(str::to_owned),
        }
    }

    /// Opens a new, independent decoder over the shared bytes (no copy).
    pub fn decoder(&self, config: DecoderConfig) -> Result<Decoder, Error> {
        Decoder::from_bytes(self.bytes.clone(), self.hint.as_deref(), config)
    }

    /// The shared bytes.
    pub fn bytes(&self) -> Arc<[u8]> {
        self.bytes.clone()
    }

    /// The format hint (file extension), if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}
