package io.normstats.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A docs page generated from the code: the tests check it is current, and rewrite it on demand. */
final class GeneratedPage {
  private GeneratedPage() {}

  /**
   * Asserts that {@code page} holds {@code generated}; with {@code -Dnormstats.updateDocs=true}
   * writes it first.
   *
   * @param test the test class that generates it, named in the message that says how to update
   */
  static void check(Path page, String generated, Class<?> test) throws IOException {
    if (Boolean.getBoolean("normstats.updateDocs")) {
      Files.writeString(page, generated);
    }
    assertEquals(generated, Files.readString(page), page + " is stale: regenerate it with "
        + "mvn -B test -Dtest=" + test.getSimpleName()
        + " -Dsurefire.failIfNoSpecifiedTests=false -Dnormstats.updateDocs=true");
  }
}
