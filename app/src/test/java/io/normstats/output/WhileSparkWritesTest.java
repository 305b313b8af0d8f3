package io.normstats.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@link StatsOutput#whileSparkWrites}: both writes at once, neither failure lost. */
class WhileSparkWritesTest {
  @Test
  void theJobRunsWhileTheDriverWrites() throws IOException {
    CountDownLatch driverStarted = new CountDownLatch(1);
    CountDownLatch jobStarted = new CountDownLatch(1);
    AtomicBoolean jobSawDriver = new AtomicBoolean();
    AtomicBoolean driverSawJob = new AtomicBoolean();
    StatsOutput.whileSparkWrites(() -> {
      jobStarted.countDown();
      jobSawDriver.set(await(driverStarted));
    }, () -> {
      driverStarted.countDown();
      driverSawJob.set(await(jobStarted));
    });
    assertTrue(jobSawDriver.get() && driverSawJob.get(), "the two writes did not overlap");
  }

  @Test
  void aFailedJobIsThrownAfterTheDriverWrite() {
    IllegalStateException boom = new IllegalStateException("parquet failed");
    AtomicBoolean driverDone = new AtomicBoolean();
    IllegalStateException thrown = assertThrows(IllegalStateException.class,
        () -> StatsOutput.whileSparkWrites(() -> {
          throw boom;
        }, () -> driverDone.set(true)));
    assertSame(boom, thrown);
    assertTrue(driverDone.get());
  }

  @Test
  void aFailedDriverWriteWaitsForTheJob() {
    AtomicBoolean jobDone = new AtomicBoolean();
    IOException thrown = assertThrows(IOException.class, () -> StatsOutput.whileSparkWrites(() -> {
      sleep(200);
      jobDone.set(true);
    }, () -> {
      throw new IOException("disk full");
    }));
    assertEquals("disk full", thrown.getMessage());
    assertTrue(jobDone.get(), "returned before the job ended");
  }

  private static boolean await(CountDownLatch latch) {
    try {
      return latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
