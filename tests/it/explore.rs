//! `strata explore` driven the way a person uses it: in a real terminal (a detached tmux session,
//! 160×45), keys typed with `send-keys`, the screen read with `capture-pane`. The oracles are
//! independent of strata: the images' construction (the sample's generator, a Dockerfile written
//! here), Python's tarfile on the layer blobs for a saved file's bytes and for the delta a deploy
//! downloads, and `stty -a` before and after for a sane terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{docker_ok, fresh_dir, have, require, sh, strata};

/// How long a screen may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(20);

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-app")
}

/// A detached tmux session running one command in a shell that records `stty -a` before and
/// after it, and its exit code; killed when dropped.
struct Screen {
    name: String,
    dir: PathBuf,
}

impl Screen {
    /// Starts `strata ARGS` in a new 160×45 session, in a fresh directory, with NO_COLOR set.
    fn start(area: &str, args: &[&str]) -> Screen {
        Screen::start_in(fresh_dir(area), area, "", args)
    }

    /// Starts `ENV strata ARGS` (`env`: shell assignments, or empty) in a new 160×45 session, in
    /// `dir`, with NO_COLOR set.
    fn start_in(dir: PathBuf, area: &str, env: &str, args: &[&str]) -> Screen {
        require(have("tmux"), "tmux");
        let name = format!("strata-explore-{}-{area}", std::process::id());
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "cd '{dir}' && stty -a > before.txt; NO_COLOR=1 {env} '{bin}' {args}; echo $? > rc.txt; \
             stty -a > after.txt; sleep 600",
            dir = dir.display(),
            bin = env!("CARGO_BIN_EXE_strata"),
            args = quoted.join(" ")
        );
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "160", "-y", "45", &script])
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Screen { name, dir }
    }

    /// The screen's text now.
    fn text(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen satisfies `ready`, returning it; fails with the last screen.
    fn until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if ready(&text) {
                return text;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the screen never showed {what}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the screen contains every one of `needles`.
    fn shows(&self, needles: &[&str]) -> String {
        self.until(&format!("{needles:?}"), |t| {
            needles.iter().all(|n| t.contains(n))
        })
    }

    /// Types tmux key names (`Down`, `C-f`, `Space`).
    /// Each key is sent on its own, a moment apart, so that Escape and the next key do not read
    /// as one Alt sequence.
    fn keys(&self, keys: &[&str]) {
        for key in keys {
            let status = Command::new("tmux")
                .args(["send-keys", "-t", &self.name, key])
                .status()
                .expect("tmux send-keys");
            assert!(status.success());
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    /// Quits with `key`, then checks the exit code is 0 and the terminal's settings are what
    /// they were before strata started.
    fn quit_cleanly(&self, key: &str) {
        self.keys(&[key]);
        self.exited_sane(0);
    }

    /// Waits for strata to exit, then checks its exit code is `code` and the terminal's settings
    /// are what they were before it started; returns the screen then (what strata printed on
    /// the main screen, once the alternate screen was left).
    fn exited_sane(&self, code: i32) -> String {
        let start = Instant::now();
        while !self.dir.join("after.txt").is_file() {
            assert!(start.elapsed() < PATIENCE, "strata did not exit:\n{}", self.text());
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(100));
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap();
        let screen = self.text();
        assert_eq!(read("rc.txt").trim(), code.to_string(), "{screen}");
        assert_eq!(read("before.txt"), read("after.txt"), "stty -a changed:\n{screen}");
        screen
    }

    /// The pid of the strata process the session's shell runs.
    fn strata_pid(&self) -> u32 {
        let shell = sh(&format!("tmux list-panes -t {} -F '#{{pane_pid}}'", self.name));
        let child = sh(&format!("ps -o pid= --ppid {}", shell.trim()));
        child.trim().parse().unwrap_or_else(|_| panic!("no strata under the shell: {child:?}"))
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// Lines of the tree pane (the right 55 % of a 160-column screen), in screen order.
fn tree_lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .map(|l| l.chars().skip(72).collect::<String>())
        .collect()
}

/// The words of a tree row, without the borders and the cursor.
fn row_words(line: &str) -> Vec<&str> {
    let words: Vec<&str> = line
        .trim_matches(|c| c == '│' || c == ' ')
        .split_whitespace()
        .collect();
    match words.first() {
        Some(&">") => words[1..].to_vec(),
        _ => words,
    }
}

/// The mark letter of the tree row whose name is `name`, or `None` when no row shows it.
fn mark(screen: &str, name: &str) -> Option<char> {
    tree_lines(screen).iter().find_map(|line| {
        let words = row_words(line);
        let letter = words.first().filter(|w| w.len() == 1)?;
        (words.last() == Some(&name)).then(|| letter.chars().next())?
    })
}

/// The screen row of the tree row named `name`.
fn position(screen: &str, name: &str) -> usize {
    tree_lines(screen)
        .iter()
        .position(|l| row_words(l).last() == Some(&name))
        .unwrap_or_else(|| panic!("{name} not in the tree:\n{screen}"))
}

fn the_sample_shows_each_layers_changes_and_the_tree_follows_the_keys() {
    let image = format!("oci:{}:latest", sample().display());
    let s = Screen::start("explore-sample", &["explore", &image]);
    // The layers from the manifest, then the first layer's files.
    let first = s.shows(&["Layers (3)", "ADD rootfs.tar /", "Files: layer 0 changes", "os-release"]);
    assert_eq!(mark(&first, "os-release"), Some('A'), "{first}");
    // Layer 1 (COPY . /app): the app's files, added; the findings pane lists the venv.
    s.keys(&["Down"]);
    let app = s.shows(&["Files: layer 1 changes", "app.py", "analyzed:"]);
    assert_eq!(mark(&app, "app.py"), Some('A'), "{app}");
    assert!(app.contains("/app/.venv"), "findings show the venv:\n{app}");
    // Layer 2 (RUN rm): the scratch file, removed.
    s.keys(&["Down"]);
    let rm = s.shows(&["Files: layer 2 changes", "build-scratch.bin"]);
    assert_eq!(mark(&rm, "build-scratch.bin"), Some('R'), "{rm}");
    // Ctrl+R hides the removed paths; again shows them.
    s.keys(&["C-r"]);
    let hidden = s.shows(&["hiding R"]);
    assert_eq!(mark(&hidden, "build-scratch.bin"), None, "{hidden}");
    s.keys(&["C-r"]);
    s.until("the removal back", |t| mark(t, "build-scratch.bin") == Some('R'));
    // Aggregated up to layer 1, /app (the largest directory, first) collapsed: the base's files
    // unchanged, the app's added.
    s.keys(&["Up", "C-l", "Tab", "Home", "Space"]);
    let all = s.shows(&["filesystem up to layer 1", "▸ app", "os-release"]);
    assert!(!all.contains("app.py"), "{all}");
    assert_eq!(mark(&all, "os-release"), Some('U'), "{all}");
    // Sizes first by default: /usr/bin (python3, 180 kB) above /usr/lib (os.py, 40 kB); by name
    // after Ctrl+O.
    assert!(position(&all, "python3") < position(&all, "os.py"), "{all}");
    s.keys(&["C-o"]);
    let named = s.shows(&["by name"]);
    assert!(position(&named, "os-release") < position(&named, "python3"), "{named}");
    s.keys(&["C-o"]);
    s.shows(&["by size"]);
    s.keys(&["Home", "Space"]);
    let open = s.shows(&["▾ app", "app.py"]);
    assert_eq!(mark(&open, "app.py"), Some('A'), "{open}");
    // Collapse all, expand all.
    s.keys(&["z"]);
    let none = s.shows(&["▸ usr"]);
    assert!(!none.contains("os.py"), "{none}");
    s.keys(&["z"]);
    s.shows(&["▾ usr"]);
    // The filter keeps the matching paths and their directories.
    s.keys(&["C-f"]);
    s.type_text("numpy/__init");
    s.keys(&["Enter"]);
    let filtered = s.shows(&["filter /numpy/__init/"]);
    assert!(filtered.contains("__init__.py") && !filtered.contains("os-release"), "{filtered}");
    s.keys(&["C-f", "Escape"]);
    s.until("the filter cleared", |t| t.contains("▾ usr") && !t.contains("filter /"));
    // Help, and the largest paths popup jumps to the largest file.
    s.keys(&["?"]);
    s.shows(&["Keys (Esc closes)", "Ctrl+A / A"]);
    s.keys(&["Escape", "b"]);
    s.shows(&["Largest paths", "_core.cpython-311-x86_64-linux-gnu.so"]);
    s.keys(&["Enter", "i"]);
    s.shows(&["History of /app/.venv/lib/python3.11/site-packages/numpy/_core", "A layer 1"]);
    s.keys(&["Escape"]);
    // A narrower terminal stacks the panes: the tree moves below the layers.
    sh(&format!("tmux resize-window -t {} -x 90 -y 45", s.name));
    let narrow = s.until("the stacked layout", |t| {
        t.lines()
            .position(|l| l.contains("Files: "))
            .is_some_and(|files| files > t.lines().position(|l| l.contains("Layers (3)")).unwrap_or(99) + 8)
    });
    assert!(narrow.lines().all(|l| l.chars().count() <= 90), "{narrow}");
    sh(&format!("tmux resize-window -t {} -x 160 -y 45", s.name));
    s.until("the side-by-side layout", |t| {
        t.lines().any(|l| l.contains("Layers (3)") && l.contains("Files: "))
    });
    s.quit_cleanly("q");
}

fn a_docker_built_image_marks_what_each_layer_added_modified_and_removed() {
    require(docker_ok(&["info"]), "a running Docker Engine");
    require(Path::new("/bin/busybox").exists(), "busybox-static (/bin/busybox)");
    let dir = fresh_dir("explore-docker");
    let tag = format!("strata-test/explore:{}", std::process::id());
    let base = format!("{tag}-base");
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/busybox", bin.join("busybox")).unwrap();
    for applet in ["sh", "rm", "echo", "cat"] {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).unwrap();
    }
    sh(&format!(
        "tar -C '{}' -c . | docker import - {base}",
        dir.join("rootfs").display()
    ));
    let ctx = dir.join("context");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("notes.txt"), "first\n").unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM {base}\nCOPY notes.txt /data/notes.txt\n\
             RUN echo second > /data/notes.txt && echo new > /data/fresh.txt && rm /bin/cat\n"
        ),
    )
    .unwrap();
    let buildkit = docker_ok(&["buildx", "version"]) as u8;
    sh(&format!(
        "DOCKER_BUILDKIT={buildkit} docker build -q -t {tag} '{}' && docker save {tag} -o '{}'",
        ctx.display(),
        dir.join("app.tar").display()
    ));
    let _ = Command::new("docker").args(["rmi", "-f", &tag, &base]).output();
    let image = format!("docker-archive:{}", dir.join("app.tar").display());
    let s = Screen::start("explore-docker-ui", &["explore", &image]);
    s.shows(&["Layers (3)", "busybox"]);
    s.keys(&["Down"]);
    let copy = s.shows(&["Files: layer 1 changes", "notes.txt"]);
    assert_eq!(mark(&copy, "notes.txt"), Some('A'), "{copy}");
    s.keys(&["Down"]);
    let run = s.shows(&["Files: layer 2 changes", "fresh.txt", "notes.txt", "cat"]);
    assert_eq!(mark(&run, "notes.txt"), Some('M'), "{run}");
    assert_eq!(mark(&run, "fresh.txt"), Some('A'), "{run}");
    assert_eq!(mark(&run, "cat"), Some('R'), "{run}");
    // M hides the modified (Ctrl+M is Enter in a terminal), A the added.
    s.keys(&["M", "A"]);
    let left = s.shows(&["hiding AM"]);
    assert_eq!((mark(&left, "notes.txt"), mark(&left, "fresh.txt")), (None, None), "{left}");
    assert_eq!(mark(&left, "cat"), Some('R'), "{left}");
    s.quit_cleanly("C-c");
}

fn a_file_saved_from_its_layer_has_the_bytes_the_layer_ships() {
    require(have("python3"), "python3");
    let image = format!("oci:{}:latest", sample().display());
    let s = Screen::start("explore-save", &["explore", &image]);
    s.shows(&["Layers (3)"]);
    s.keys(&["Down"]);
    s.shows(&["Files: layer 1 changes", "analyzed:"]);
    s.keys(&["C-f"]);
    s.type_text("numpy/__init__.py$");
    s.keys(&["Enter", "Tab", "End"]);
    s.shows(&["filter /numpy/__init__.py$/", "> A"]);
    // The pager shows the head of a text file.
    s.keys(&["v"]);
    s.shows(&["/app/.venv/lib/python3.11/site-packages/numpy/__init__.py (layer 1)"]);
    s.keys(&["Escape", "s"]);
    s.shows(&["Save to", "./__init__.py"]);
    s.keys(&["BSpace"; 13]);
    s.type_text("saved.py");
    s.keys(&["Enter"]);
    s.shows(&["saved /app/.venv/lib/python3.11/site-packages/numpy/__init__.py"]);
    let saved = std::fs::read(s.dir.join("saved.py")).unwrap();
    let expected = sh(&format!(
        "python3 - '{}' <<'EOF'\n\
import json, sys, tarfile, os, hashlib\n\
root = sys.argv[1]\n\
blob = lambda d: os.path.join(root, 'blobs', *d.split(':'))\n\
index = json.load(open(os.path.join(root, 'index.json')))\n\
m = [m for m in index['manifests'] if m['annotations']['org.opencontainers.image.ref.name'] == 'latest'][0]\n\
layer = json.load(open(blob(m['digest'])))['layers'][1]\n\
t = tarfile.open(blob(layer['digest']))\n\
data = t.extractfile('app/.venv/lib/python3.11/site-packages/numpy/__init__.py').read()\n\
print(len(data), hashlib.sha256(data).hexdigest())\n\
EOF",
        sample().display()
    ));
    assert_eq!(
        format!("{} {}", saved.len(), sha256_hex(&saved)),
        expected.trim()
    );
    s.quit_cleanly("q");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn compare_shows_what_a_deploy_downloads_per_layer_and_the_files_that_change() {
    require(have("python3"), "python3");
    let latest = format!("oci:{}:latest", sample().display());
    let base = format!("oci:{}:base", sample().display());
    // The oracle: the blobs of latest that base lacks, from the manifests.
    let sizes = sh(&format!(
        "python3 - '{}' <<'EOF'\n\
import json, sys, os\n\
root = sys.argv[1]\n\
blob = lambda d: os.path.join(root, 'blobs', *d.split(':'))\n\
index = {{m['annotations']['org.opencontainers.image.ref.name']: m for m in json.load(open(os.path.join(root, 'index.json')))['manifests']}}\n\
layers = lambda tag: json.load(open(blob(index[tag]['digest'])))['layers']\n\
old = {{l['digest'] for l in layers('base')}}\n\
print(' '.join('shared' if l['digest'] in old else str(l['size']) for l in layers('latest')))\n\
EOF",
        sample().display()
    ));
    let sizes: Vec<&str> = sizes.split_whitespace().collect();
    assert_eq!(sizes[0], "shared");
    let s = Screen::start("explore-compare", &["explore", &latest, "--compare", &base]);
    // The file change set, largest first: numpy's 700 kB library, which only latest has.
    let screen = s.shows(&["Compare: a deploy where", "pull ", "(2 of 3 layers)"]);
    assert!(
        screen.lines().any(|l| l.contains("A  700.0 kB  /app/.venv/lib/python3.11/site-packages/numpy/_core")),
        "{screen}"
    );
    let commands = ["ADD rootfs.tar /", "COPY . /app", "RUN rm /tmp"];
    let layer_line = |i: usize| {
        screen
            .lines()
            .find(|l| l.contains(commands[i]) && !l.contains("command "))
            .unwrap_or_else(|| panic!("layer {i} row:\n{screen}"))
            .to_string()
    };
    assert!(layer_line(0).contains("shared"), "{screen}");
    for (i, size) in sizes.iter().enumerate().skip(1) {
        let human = strata::units::human_bytes(size.parse().unwrap());
        assert!(layer_line(i).contains(&human), "layer {i} deploys {size}:\n{screen}");
    }
    s.quit_cleanly("q");
}

fn without_a_terminal_it_exits_2_and_says_to_use_report() {
    let image = format!("oci:{}:latest", sample().display());
    let run = strata(&["explore", &image]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("use strata report"), "{}", run.stderr);
}

/// The sample's first screen, for the exit-path tests.
fn sample_screen(area: &str) -> Screen {
    let image = format!("oci:{}:latest", sample().display());
    let s = Screen::start(area, &["explore", &image]);
    s.shows(&["Layers (3)", "Files: layer 0 changes", "os-release"]);
    s
}

fn ctrl_c_quits_and_leaves_the_terminal_sane() {
    sample_screen("explore-ctrl-c").quit_cleanly("C-c");
}

fn sigterm_ends_it_with_143_and_leaves_the_terminal_sane() {
    let s = sample_screen("explore-sigterm");
    sh(&format!("kill -TERM {}", s.strata_pid()));
    let after = s.exited_sane(143);
    assert!(after.contains("strata: interrupted"), "{after}");
}

/// The digest of layer `index` of the `latest` image in the OCI layout `dir`, read from its
/// index and manifest.
fn layout_layer(dir: &Path, index: usize) -> String {
    let json = |digest: &str| -> serde_json::Value {
        let path = dir.join("blobs").join(digest.replace(':', "/"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let top: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifest = top["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "latest")
        .unwrap();
    json(manifest["digest"].as_str().unwrap())["layers"][index]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn a_layer_cut_short_after_the_first_screen_ends_it_with_the_error_and_a_sane_terminal() {
    require(have("mkfifo"), "mkfifo");
    // A copy of the sample whose layer 1 is a named pipe: the test feeds it the blob's first
    // 100 kB, waits for the first screen, then closes it, so the read fails with the UI up.
    let dir = fresh_dir("explore-cut");
    let layout = dir.join("layout");
    sh(&format!("cp -r '{}' '{}'", sample().display(), layout.display()));
    let blob = layout.join("blobs").join(layout_layer(&layout, 1).replace(':', "/"));
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::remove_file(&blob).unwrap();
    sh(&format!("mkfifo '{}'", blob.display()));
    let (close, closed) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        use std::io::Write;
        let mut pipe = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
        pipe.write_all(&bytes[..100_000]).unwrap();
        let _ = closed.recv();
    });
    let image = format!("oci:{}:latest", layout.display());
    let s = Screen::start_in(dir, "explore-cut", "", &["explore", &image]);
    s.shows(&["Layers (3)", "Files: layer 0 changes", "os-release", "reading layers"]);
    drop(close);
    let after = s.exited_sane(2);
    assert!(after.contains("strata: error: layer 1"), "{after}");
}

fn a_panic_leaves_the_terminal_sane_and_the_message_readable() {
    let image = format!("oci:{}:latest", sample().display());
    let dir = fresh_dir("explore-panic");
    // The hidden variable makes the explorer panic once its first screen is drawn.
    let s = Screen::start_in(dir, "explore-panic", "STRATA_EXPLORE_TEST_PANIC=1", &["explore", &image]);
    let after = s.exited_sane(101);
    assert!(after.contains("panicked") && after.contains("STRATA_EXPLORE_TEST_PANIC"), "{after}");
}

fn a_large_file_saves_on_a_worker_while_the_ui_takes_keys() {
    use crate::support::layout::{blob_path, noise, tar_bytes, write_layout, Comp, Item};
    use std::io::Write;
    require(have("tar"), "tar");
    // Layer 1 ships a 4 MiB file; its blob is a named pipe the test feeds: whole for the
    // analysis, then half of it for the save, the rest only once a key has been seen to work.
    let dir = fresh_dir("explore-save-big");
    let layout = dir.join("layout");
    let big = noise(4 << 20, 21);
    let written = write_layout(
        &layout,
        "latest",
        &[
            (tar_bytes(&[Item::File("etc/hello", b"hi\n")]), Comp::Gzip),
            (tar_bytes(&[Item::File("big.bin", &big)]), Comp::Gzip),
        ],
    );
    let fifo = blob_path(&layout, &written.layer_digests[1]);
    let orig = dir.join("layer1.tar.gz");
    std::fs::rename(&fifo, &orig).unwrap();
    sh(&format!("mkfifo '{}'", fifo.display()));
    let blob = std::fs::read(&orig).unwrap();
    let (analyzed, was_analyzed) = std::sync::mpsc::channel::<()>();
    let (halfway, half_written) = std::sync::mpsc::channel();
    let (go, went) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let feed = |bytes: &[u8]| {
            let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            pipe.write_all(bytes).unwrap();
            pipe
        };
        drop(feed(&blob));
        // A writer opening before the reader met the end would continue the same stream.
        let _ = was_analyzed.recv();
        let half = blob.len() / 2;
        let mut pipe = feed(&blob[..half]);
        let _ = halfway.send(());
        let _ = went.recv();
        pipe.write_all(&blob[half..]).unwrap();
    });
    let image = format!("oci:{}:latest", layout.display());
    let s = Screen::start_in(dir.clone(), "explore-save-big", "", &["explore", &image]);
    s.shows(&["Layers (2)"]);
    s.keys(&["Down"]);
    s.shows(&["Files: layer 1 changes", "big.bin", "analyzed:"]);
    analyzed.send(()).unwrap();
    s.keys(&["Tab", "End", "s"]);
    s.shows(&["Save to", "./big.bin"]);
    s.keys(&["Enter"]);
    half_written.recv_timeout(PATIENCE).expect("the save opened the layer");
    s.shows(&["saving /big.bin:", "by size"]);
    // The save waits for the rest of the layer; the UI still sorts by name.
    s.keys(&["C-o"]);
    let meanwhile = s.shows(&["by name"]);
    assert!(meanwhile.contains("saving /big.bin:"), "{meanwhile}");
    go.send(()).unwrap();
    let size = strata::units::human_bytes(big.len() as u64);
    s.shows(&[&format!("saved /big.bin ({size}) from layer 1 to ./big.bin")]);
    let saved = std::fs::read(dir.join("big.bin")).unwrap();
    let expected = sh(&format!("tar -xzOf '{}' big.bin | sha256sum", orig.display()));
    assert_eq!(
        sha256_hex(&saved),
        expected.split_whitespace().next().unwrap(),
        "{} bytes saved",
        saved.len()
    );
    s.quit_cleanly("q");
}

fn compare_from_a_registry_downloads_each_layer_once() {
    use crate::support::registry::Registry;
    require(have("skopeo"), "skopeo (Debian package)");
    let registry = Registry::start(None);
    let layout = format!("oci:{}", sample().display());
    let latest = registry.push(&format!("{layout}:latest"), "sample:latest", None);
    let base = registry.push(&format!("{layout}:base"), "sample:base", None);
    let before = registry.blob_gets().len();
    let s = Screen::start("explore-compare-registry", &["explore", &latest, "--compare", &base]);
    s.shows(&["Compare: a deploy where", "pull ", "(2 of 3 layers)", "analyzed:"]);
    s.quit_cleanly("q");
    // The oracle: the registry's access log, one GET per layer blob of the image explored.
    let gets = registry.blob_gets()[before..].to_vec();
    for index in 0..3 {
        let digest = layout_layer(&sample(), index);
        let n = gets.iter().filter(|l| l.contains(&digest)).count();
        assert_eq!(n, 1, "layer {index} ({digest}) fetched {n} times: {gets:#?}");
    }
}

crate::tests![
    the_sample_shows_each_layers_changes_and_the_tree_follows_the_keys,
    a_docker_built_image_marks_what_each_layer_added_modified_and_removed,
    a_file_saved_from_its_layer_has_the_bytes_the_layer_ships,
    compare_shows_what_a_deploy_downloads_per_layer_and_the_files_that_change,
    without_a_terminal_it_exits_2_and_says_to_use_report,
    ctrl_c_quits_and_leaves_the_terminal_sane,
    sigterm_ends_it_with_143_and_leaves_the_terminal_sane,
    a_layer_cut_short_after_the_first_screen_ends_it_with_the_error_and_a_sane_terminal,
    a_panic_leaves_the_terminal_sane_and_the_message_readable,
    a_large_file_saves_on_a_worker_while_the_ui_takes_keys,
    compare_from_a_registry_downloads_each_layer_once,
];
