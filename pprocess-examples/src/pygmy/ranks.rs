//! The modes over the ranks of an MPI job (feature `mpi`): the same rows,
//! rendered by the ranks other than 0.
//!
//! A closure's captures cannot cross to another host, so the work is a
//! `fn` item, [`row_remote`], and its arguments say which scene and which
//! row: every rank builds pprocess's scene itself from the picture's size
//! (once, then keeps it) and renders the rows it is given. The picture is
//! the same, byte for byte, as on forked workers.

use std::cell::RefCell;

use pprocess_exchange::{Exchange, Message, Queue, pmap_fn};
use pprocess_mpi::Cluster;
use serde_bytes::ByteBuf;

use super::image::Image;
use super::mode::{Mode, Progress, collect_rows, render, spread, store_row};
use super::scene::pprocess_scene;
use super::world::World;

thread_local! {
    /// The scene this process last rendered, kept between rows.
    static SCENE: RefCell<Option<World>> = const { RefCell::new(None) };
}

/// Row `sy` of pprocess's scene at `width` × `height`, with its number:
/// what a rank computes.
#[must_use]
pub fn row_remote((width, height, sy): (usize, usize, usize)) -> (usize, ByteBuf) {
    SCENE.with(|scene| {
        let mut scene = scene.borrow_mut();
        let world = match scene.take() {
            Some(w) if (w.width, w.height) == (width, height) => w,
            _ => pprocess_scene(width, height),
        };
        let row = ByteBuf::from(world.render_row(sy));
        *scene = Some(world);
        (sy, row)
    })
}

/// Renders `world` (pprocess's scene) in `mode` on the cluster's workers:
/// [`Mode::Seq`] in this process, the others as [`render`] does on forked
/// workers, with [`Cluster::workers`] workers.
///
/// # Errors
///
/// As for [`render`].
pub fn render_on(
    cluster: &Cluster,
    world: &World,
    mode: Mode,
    progress: Progress<'_>,
) -> Result<Image, String> {
    let (width, height) = (world.width, world.height);
    let workers = cluster.workers();
    let mut image = Image::new(width, height);
    match mode {
        Mode::Seq => return render(world, mode, workers, progress),
        Mode::Pmap => {
            // Spread order, as on forked workers (see `render`).
            let rows = spread(height);
            let results = pmap_fn(
                &cluster.builder(),
                row_remote,
                rows.iter().map(|&sy| (width, height, sy)),
                workers,
            )
            .map_err(|e| format!("rows failed: {e}"))?;
            for (sy, row) in results {
                image.set_row(sy, &row)?;
                progress(&image, sy);
            }
        }
        Mode::Queue => {
            let mut queue = Queue::<(usize, ByteBuf)>::with_builder(cluster.builder())
                .map_err(|e| e.to_string())?
                .limit(workers);
            let render_row = queue.manage_fn(row_remote);
            for sy in 0..height {
                render_row
                    .call(&mut queue, (width, height, sy))
                    .map_err(|e| format!("cannot start row {sy}: {e}"))?;
            }
            collect_rows(&mut queue, &mut image, progress)?;
        }
        Mode::Reuse => {
            let mut failure = None;
            let store_data = |message: Message<(usize, ByteBuf)>| {
                store_row(message, &mut image, progress, &mut failure);
            };
            let mut exchange = Exchange::with_builder(cluster.builder(), store_data)
                .map_err(|e| e.to_string())?
                .limit(workers)
                .reuse(true);
            let render_row = exchange.manage_fn(row_remote);
            for sy in 0..height {
                render_row
                    .call(&mut exchange, (width, height, sy))
                    .map_err(|e| format!("cannot start row {sy}: {e}"))?;
            }
            exchange.finish().map_err(|e| e.to_string())?;
            drop(exchange); // gives the handler's borrows back
            if let Some(e) = failure {
                return Err(e);
            }
        }
    }
    if image.rows_set() != height {
        return Err(format!("{} of {height} rows arrived", image.rows_set()));
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_row_is_the_row_of_the_scene_of_that_size() {
        let world = pprocess_scene(30, 20);
        for sy in [0, 7, 19] {
            let (got, row) = row_remote((30, 20, sy));
            assert_eq!((got, row.into_vec()), (sy, world.render_row(sy)));
        }
        // Another size builds another scene.
        let (_, row) = row_remote((12, 8, 5));
        assert_eq!(row.into_vec(), pprocess_scene(12, 8).render_row(5));
    }

    #[test]
    fn every_mode_on_forked_workers_gives_the_same_picture() {
        // Without a launcher the cluster forks; the remote rows are the
        // same as the rows rendered in place.
        let cluster = pprocess_mpi::init().unwrap();
        let world = pprocess_scene(24, 16);
        let seq = render(&world, Mode::Seq, 1, &mut |_, _| {}).unwrap();
        for mode in [Mode::Pmap, Mode::Queue, Mode::Reuse] {
            let got = render_on(&cluster, &world, mode, &mut |_, _| {}).unwrap();
            assert!(got == seq, "{mode:?}");
        }
    }
}
