package io.normstats.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.normstats.testing.Launcher;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;

/**
 * The sample report as a person sees it: runs {@code jobs/normstats report} on the Fashion-MNIST
 * sample, opens report.html from disk in Debian's headless Chromium (through chromedriver), checks
 * that it loads without console errors and that every chart and image rendered, and saves a
 * screenshot to target/report-screenshot.png.
 */
class ReportBrowserIT {
  private static final String CHROMIUM = "/usr/bin/chromium";
  private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
  @TempDir Path tmp;

  @Test
  void theSampleReportRendersInChromium() throws Exception {
    Path dir = tmp.resolve("fashion-report");
    Launcher.Result r = Launcher.launch(tmp, Map.of(), 5, "report", "--input",
        Launcher.HOME.resolve("sample-data/fashion-mnist/t10k-images-idx3-ubyte.gz").toString(),
        "--output", dir.toString());
    assertEquals(0, r.exitCode(), r.stderr());
    Path html = dir.resolve("report.html");
    assertTrue(r.stdout().contains(html.toString()), r.stdout());
    assertTrue(new File(CHROMIUM).canExecute() && new File(CHROMEDRIVER).canExecute(),
        "Debian's chromium and chromium-driver are needed (.ci/run installs them)");

    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM);
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--user-data-dir=" + Files.createDirectories(tmp.resolve("profile")),
        "--window-size=1200,1000");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
    ChromeDriver driver = new ChromeDriver(service, options);
    try {
      driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(60));
      driver.get(html.toUri().toString());
      JavascriptExecutor js = driver;
      assertEquals("complete", js.executeScript("return document.readyState"));
      long charts = (Long) js.executeScript("return document.querySelectorAll('img.chart').length");
      // 2 images (mean, std), 2 batch-size charts, 3 convergence charts, 1 distribution
      assertEquals(8, charts);
      @SuppressWarnings("unchecked")
      List<String> broken = (List<String>) js.executeScript("return Array.from("
          + "document.querySelectorAll('img.chart')).filter(i => !i.complete || i.naturalWidth === 0)"
          + ".map(i => i.alt)");
      assertTrue(broken.isEmpty(), "charts that did not render: " + broken);
      List<LogEntry> errors = driver.manage().logs().get(LogType.BROWSER).getAll().stream()
          .filter(e -> e.getLevel().intValue() >= Level.SEVERE.intValue()).toList();
      assertTrue(errors.isEmpty(), "console errors: " + errors);
      long height = (Long) js.executeScript("return document.documentElement.scrollHeight");
      driver.manage().window().setSize(new org.openqa.selenium.Dimension(1200, (int) height));
      File shot = driver.getScreenshotAs(OutputType.FILE);
      Path target = Launcher.HOME.resolve("app/target/report-screenshot.png");
      Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
      assertTrue(Files.size(target) > 10_000);
    } finally {
      driver.quit();
    }
  }
}
