package io.normstats.minibatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class BatchScheduleTest {
  @Test
  void dropsOrKeepsTheLastBatch() {
    BatchSchedule drop = new BatchSchedule(10, 4, 3, true, 200);
    assertEquals(2, drop.batchesPerEpoch());
    assertEquals(6, drop.steps());
    assertEquals(4, drop.sizeOf(1));
    assertEquals(0, drop.sizeOf(2));
    assertEquals(8, drop.rowsUsedPerEpoch());
    BatchSchedule keep = new BatchSchedule(10, 4, 1, false, 200);
    assertEquals(3, keep.batchesPerEpoch());
    assertEquals(2, keep.sizeOf(2));
    assertEquals(10, keep.rowsUsedPerEpoch());
    // a last batch of one row cannot train BatchNorm and is dropped even with keep-last
    BatchSchedule one = new BatchSchedule(9, 4, 1, false, 200);
    assertEquals(2, one.batchesPerEpoch());
    assertEquals(0, one.sizeOf(2));
  }

  @Test
  void checkpointsAreEvenlySpacedAndSegmentsCoverEveryStep() {
    BatchSchedule s = new BatchSchedule(1000, 3, 2, true, 7); // 333 per epoch, 666 steps
    assertEquals(7, s.checkpoints());
    long previous = 0;
    for (int k = 1; k <= 7; k++) {
      long step = s.checkpoint(k);
      assertEquals(k * 666L / 7, step);
      for (long n = previous + 1; n <= step; n++) {
        assertEquals(k, s.segmentOf(n), "step " + n);
      }
      previous = step;
    }
    assertEquals(666, previous);
    BatchSchedule few = new BatchSchedule(10, 5, 1, true, 200);
    assertEquals(2, few.checkpoints());
    assertEquals(1, few.checkpoint(1));
    assertEquals(2, few.checkpoint(2));
  }

  @Test
  void refusesBatchSizesOutsideTheData() {
    assertThrows(IllegalArgumentException.class, () -> new BatchSchedule(10, 1, 1, true, 5));
    assertThrows(IllegalArgumentException.class, () -> new BatchSchedule(10, 11, 1, true, 5));
  }
}
