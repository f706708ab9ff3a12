module gosort

go 1.19
