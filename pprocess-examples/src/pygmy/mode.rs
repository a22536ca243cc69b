//! The four ways of rendering, after pprocess's four PyGmy programs.

use pprocess_exchange::{Exchange, Message, Queue, pmap_iter};
use serde_bytes::ByteBuf;

use super::image::Image;
use super::world::World;

/// How the rows are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Row after row in this process (`scene.py` with one process).
    Seq,
    /// `pmap` over the rows: `limit` workers forked once (`scene_pmap.py`);
    /// the rows are handed out in [`spread`] order.
    Pmap,
    /// A managed function per row, results taken from a `Queue` in
    /// arrival order: a child per row (`scene_queue.py`).
    Queue,
    /// A managed function on an `Exchange` with `reuse(true)`, whose
    /// handler puts rows in place: `limit` workers fed row numbers
    /// (`scene_reuse.py`).
    Reuse,
}

impl Mode {
    /// The name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Seq => "seq",
            Mode::Pmap => "pmap",
            Mode::Queue => "queue",
            Mode::Reuse => "reuse",
        }
    }
}

/// Called after each row is in place, with the picture so far and the row.
pub type Progress<'a> = &'a mut dyn FnMut(&Image, usize);

/// Renders `world` in `mode`, with at most `limit` children at once (not
/// used by [`Mode::Seq`]).
///
/// # Errors
///
/// A message saying which row failed and why (a child that panicked or
/// died, a fork that failed), or that rows are missing.
pub fn render(
    world: &World,
    mode: Mode,
    limit: usize,
    progress: Progress<'_>,
) -> Result<Image, String> {
    let mut image = Image::new(world.width, world.height);
    match mode {
        Mode::Seq => {
            for sy in 0..world.height {
                image.set_row(sy, &world.render_row(sy))?;
                progress(&image, sy);
            }
        }
        Mode::Pmap => {
            // pmap hands each worker runs of consecutive items, and the
            // floor's rows at the bottom cost over fifty times the sky's: in
            // top-to-bottom order the last runs would keep one worker busy
            // while the other waits. Spread order puts rows from all over
            // the picture in every run.
            let rows = spread(world.height);
            let results = pmap_iter(|&sy| ByteBuf::from(world.render_row(sy)), &rows, limit)
                .map_err(|e| format!("cannot start the pmap workers: {e}"))?;
            for (&sy, row) in rows.iter().zip(results) {
                let row = row.map_err(|e| format!("row {sy} failed: {e}"))?;
                image.set_row(sy, &row)?;
                progress(&image, sy);
            }
        }
        Mode::Queue => {
            let mut queue = Queue::<(usize, ByteBuf)>::new().map_err(|e| e.to_string())?;
            queue = queue.limit(limit);
            let w = world.clone();
            let render_row = queue.manage(move |sy: usize| (sy, ByteBuf::from(w.render_row(sy))));
            for sy in 0..world.height {
                render_row
                    .call(&mut queue, sy)
                    .map_err(|e| format!("cannot start row {sy}: {e}"))?;
            }
            collect_rows(&mut queue, &mut image, progress)?;
        }
        Mode::Reuse => {
            let mut failure = None;
            // pprocess's `PyGmyExchange.store_data`: each row goes in its
            // place as it arrives.
            let store_data = |message: Message<(usize, ByteBuf)>| {
                store_row(message, &mut image, progress, &mut failure);
            };
            let mut exchange = Exchange::with_handler(store_data)
                .map_err(|e| e.to_string())?
                .limit(limit)
                .reuse(true);
            let w = world.clone();
            let render_row =
                exchange.manage_reusable(move |sy: usize| (sy, ByteBuf::from(w.render_row(sy))));
            for sy in 0..world.height {
                render_row
                    .call(&mut exchange, sy)
                    .map_err(|e| format!("cannot start row {sy}: {e}"))?;
            }
            exchange.finish().map_err(|e| e.to_string())?;
            drop(exchange); // gives the handler's borrows back
            if let Some(e) = failure {
                return Err(e);
            }
        }
    }
    if image.rows_set() != world.height {
        return Err(format!(
            "{} of {} rows arrived",
            image.rows_set(),
            world.height
        ));
    }
    Ok(image)
}

/// Takes rows from `queue` as they arrive and puts each in its place.
///
/// # Errors
///
/// The first row that failed, or that does not fit the picture.
pub(super) fn collect_rows(
    queue: &mut Queue<'_, (usize, ByteBuf)>,
    image: &mut Image,
    progress: Progress<'_>,
) -> Result<(), String> {
    while let Some(message) = queue.next_message().map_err(|e| e.to_string())? {
        let (sy, row) = message
            .result
            .map_err(|e| format!("row {} failed: {e}", message.index))?;
        image.set_row(sy, &row)?;
        progress(image, sy);
    }
    Ok(())
}

/// An exchange handler's work: puts the row of `message` in its place, or
/// keeps the first failure in `failure`.
pub(super) fn store_row(
    message: Message<(usize, ByteBuf)>,
    image: &mut Image,
    progress: Progress<'_>,
    failure: &mut Option<String>,
) {
    let stored = match message.result {
        Ok((sy, row)) => image.set_row(sy, &row).map(|()| progress(image, sy)),
        Err(e) => Err(format!("row {} failed: {e}", message.index)),
    };
    if let Err(e) = stored {
        failure.get_or_insert(e);
    }
}

/// The numbers `0..n` in bit-reversed order (0, n/2, n/4, 3n/4, ...): any
/// run of consecutive entries is spread evenly over `0..n`.
#[must_use]
pub fn spread(n: usize) -> Vec<usize> {
    let bits = usize::BITS - n.saturating_sub(1).leading_zeros();
    (0..1usize << bits)
        .map(|i| {
            if bits == 0 {
                i
            } else {
                i.reverse_bits() >> (usize::BITS - bits)
            }
        })
        .filter(|&i| i < n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_a_permutation_whose_runs_cover_the_range() {
        for n in [0, 1, 2, 3, 7, 8, 200, 257] {
            let order = spread(n);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        assert_eq!(spread(8), [0, 4, 2, 6, 1, 5, 3, 7]);
        // The last eighth of the list holds rows from every eighth of the
        // picture, not the bottom rows alone.
        let order = spread(200);
        let tail = &order[175..];
        for eighth in 0..8 {
            let range = eighth * 25..(eighth + 1) * 25;
            assert!(tail.iter().any(|r| range.contains(r)), "{range:?}");
        }
    }
}
