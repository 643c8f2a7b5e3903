use cfutures_process::ProcessPoolExecutor;

fn double(x: u64) -> u64 {
    x * 2
}

#[test]
fn smoke() {
    let pool = ProcessPoolExecutor::builder().max_workers(2).build().unwrap();
    let f = pool.submit(double, 21).unwrap();
    assert_eq!(f.result(), Ok(&42));
    let v: Vec<u64> = pool.map(double, 0..10, 3).unwrap().map(Result::unwrap).collect();
    assert_eq!(v, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    let futs: Vec<_> = (0..10000).map(|i| pool.submit(double, i).unwrap()).collect();
    for (i, f) in futs.iter().enumerate() { assert_eq!(f.result(), Ok(&(2 * i as u64))); }
    println!("{:?}", pool);
}
