//! Python projects the tests plan and build without an interpreter.

use std::path::Path;

/// Writes `project/.venv`: a Python 3.11 virtualenv (its `pyvenv.cfg`) holding one
/// distribution, six, with its RECORD — enough for the Python preset to plan and build.
pub fn write_six_venv(project: &Path) {
    let sp = project.join(".venv/lib/python3.11/site-packages");
    std::fs::create_dir_all(sp.join("six-1.17.0.dist-info")).unwrap();
    std::fs::write(sp.join("six.py"), "# six\n").unwrap();
    std::fs::write(
        sp.join("six-1.17.0.dist-info/RECORD"),
        "six.py,sha256=x,6\nsix-1.17.0.dist-info/RECORD,,\n",
    )
    .unwrap();
    std::fs::write(
        project.join(".venv/pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.11.2\n",
    )
    .unwrap();
}
