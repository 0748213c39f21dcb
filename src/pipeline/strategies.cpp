// The study's schedules, each built from the same stage steps (run.hpp). What differs is only
// which thread runs which step on which stream, and how slots travel between threads.

#include "strategies.hpp"

#include <atomic>

namespace pyn::detail {

RunReport run_serial(Run& run, Strategy strategy) {
  // One thread does everything in order; the GPU idles while the CPU reads and writes.
  run.spawn([&run] {
    Slot& slot = *run.groups().front();
    Lane& lane = run.lanes().front();
    run.prepare_lane(lane);
    if (!run.start()) {
      return;
    }
    while (run.fill(slot)) {
      run.upload(slot, lane.stream);
      run.compute(slot, lane);
      run.download(slot, lane.stream);
      run.deliver(slot);
    }
  });
  return run.finish(strategy, 1, Layout{.copies_on_lane_streams = true, .single_thread = true});
}

namespace {

// A source thread fills free slots once every lane is prepared; a sink thread delivers them in
// order and frees them.
void spawn_source_and_sink(Run& run, Queue& free, Queue& filled, Queue& done) {
  for (Slot* group : run.groups()) {
    free.push(group);
  }
  run.spawn([&run, &free, &filled] {
    if (!run.start()) {
      filled.close();
      return;
    }
    while (Slot* slot = free.pop()) {
      if (!run.fill(*slot)) {
        break;
      }
      filled.push(slot);
    }
    filled.close();
  });
  run.spawn([&run, &free, &done] {
    Run::Reorder reorder = run.make_reorder();
    while (Slot* slot = done.pop()) {
      reorder.complete(slot, [&](Slot& ready) {
        run.deliver(ready);
        free.push(&ready);
      });
    }
  });
}

}  // namespace

RunReport run_worker_streams(Run& run) {
  Queue& free = run.make_queue();
  Queue& filled = run.make_queue();
  Queue& done = run.make_queue();
  auto live = std::make_shared<std::atomic<int>>(static_cast<int>(run.lanes().size()));
  for (Lane& lane : run.lanes()) {
    // Each worker takes a whole frame through its own stream and waits for it before the next.
    run.spawn([&run, &lane, &filled, &done, live] {
      run.prepare_lane(lane);
      while (Slot* slot = filled.pop()) {
        run.upload(*slot, lane.stream);
        run.compute(*slot, lane);
        run.download(*slot, lane.stream);
        run.await_download(*slot);
        done.push(slot);
      }
      if (live->fetch_sub(1) == 1) {
        done.close();
      }
    });
  }
  spawn_source_and_sink(run, free, filled, done);
  return run.finish(Strategy::worker_streams, static_cast<int>(run.lanes().size()),
                    Layout{.copies_on_lane_streams = true, .single_thread = false});
}

RunReport run_split_streams(Run& run, Strategy strategy) {
  Queue& free = run.make_queue();
  Queue& filled = run.make_queue();
  Queue& uploaded = run.make_queue();
  Queue& computed = run.make_queue();
  Queue& done = run.make_queue();
  Stream& h2d = run.make_stream();
  Stream& d2h = run.make_stream();

  // A thread per stage; the GPU sees only event waits between streams, so nothing blocks on the
  // host except a full or empty queue.
  run.spawn([&run, &filled, &uploaded, &h2d] {
    while (Slot* slot = filled.pop()) {
      run.upload(*slot, h2d);
      uploaded.push(slot);
    }
    uploaded.close();
  });
  auto live = std::make_shared<std::atomic<int>>(static_cast<int>(run.lanes().size()));
  for (Lane& lane : run.lanes()) {
    run.spawn([&run, &lane, &uploaded, &computed, live] {
      run.prepare_lane(lane);
      while (Slot* slot = uploaded.pop()) {
        run.compute(*slot, lane);
        computed.push(slot);
      }
      if (live->fetch_sub(1) == 1) {
        computed.close();
      }
    });
  }
  // With several compute streams, frames can come out of the compute threads out of order. The
  // D2H stream runs its copies in the order it gets them, so a copy waiting for a later frame
  // would hold up an earlier frame that is already done: issue them in frame order.
  run.spawn([&run, &computed, &done, &d2h] {
    Run::Reorder reorder = run.make_reorder();
    while (Slot* slot = computed.pop()) {
      reorder.complete(slot, [&](Slot& ready) {
        run.download(ready, d2h);
        done.push(&ready);
      });
    }
    done.close();
  });
  spawn_source_and_sink(run, free, filled, done);
  return run.finish(strategy, 2 + static_cast<int>(run.lanes().size()), Layout{});
}

}  // namespace pyn::detail
