void f()
int a;

}
}
void g()
void g()
