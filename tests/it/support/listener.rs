//! A loopback listener set as every proxy variable reqwest reads: the oracle of "strata made no
//! network request" (it counts the connections made to it, and drops each at once so a client
//! fails fast instead of waiting for an answer).

use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{strata_in, Run};

/// A loopback listener that counts the connections made to it.
pub struct Listener {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    /// Listens on a free loopback port, counting and dropping every connection.
    pub fn start() -> Listener {
        let socket = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", socket.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in socket.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Listener { url, connections }
    }

    /// Runs strata in `dir` with every proxy variable reqwest reads pointing at this listener:
    /// any registry request strata makes, to any host, connects here first.
    pub fn strata(&self, args: &[&str], dir: &Path) -> Run {
        self.strata_with(args, dir, &[])
    }

    /// [`Listener::strata`] with the variables `extra` set too.
    pub fn strata_with(&self, args: &[&str], dir: &Path, extra: &[(&str, &Path)]) -> Run {
        let proxy = Path::new(&self.url);
        let none = Path::new("");
        let env = [
            ("HTTPS_PROXY", proxy),
            ("https_proxy", proxy),
            ("HTTP_PROXY", proxy),
            ("http_proxy", proxy),
            ("ALL_PROXY", proxy),
            ("all_proxy", proxy),
            ("NO_PROXY", none),
            ("no_proxy", none),
        ];
        let env: Vec<(&str, &Path)> = env.iter().chain(extra).copied().collect();
        strata_in(args, &env, Some(dir))
    }

    /// How many connections were made so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
